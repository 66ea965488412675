// PortMapper: keeps one UDP port mapping for the agent's WireGuard port on the default gateway.
// It asks PCP, NAT-PMP and UPnP IGD in that order (the first that grants a mapping wins), asks
// for a short lease and renews it at half-life with the same protocol, falls over to the
// others when that protocol refuses or the lease runs out, tells listeners whenever the
// external endpoint changes, and deletes the mapping on close(). Time, sockets and HTTP are
// injected so all of this is unit-tested on a fake clock.
import { EventEmitter } from 'node:events';
import { defaultGateway } from './gateway.js';
import { NatpmpClient } from './natpmp-client.js';
import { nodeHttpTransport, nodeUdpTransport } from './node-transports.js';
import { PcpClient } from './pcp-client.js';
import type { ClientContext, MapResult, ProtocolClient } from './protocol-client.js';
import { UpnpClient } from './upnp-client.js';
import {
  PortmapError, PROTOCOLS, systemClock,
  type Clock, type HttpTransport, type PortMapping, type PortmapProtocol, type RejectCounts, type RejectReason, type Timer, type UdpTransport,
} from './types.js';

/** Lease asked for: short, so a crashed agent's mapping soon disappears. */
export const DEFAULT_LEASE_S = 120;
/** Between renewal attempts once the renewal at half-life failed. */
export const RENEW_RETRY_MS = 5_000;
/** Never renew more often than this, whatever lifetime the gateway grants. */
export const MIN_RENEW_MS = 1_000;
/** After no protocol granted a mapping: first wait, doubled up to the maximum. */
export const RETRY_MIN_MS = 10_000;
export const RETRY_MAX_MS = 300_000;
/** RFC 6887 §8.5: an epoch behind the expected one by more than this (plus 1/8) means a reset. */
const EPOCH_SLACK_S = 2;

export interface PortMapperOptions {
  /** The local UDP port the agent's WireGuard socket is bound to. */
  readonly internalPort: number;
  /** The gateway to ask; default: the default route's gateway, read at each attempt. */
  readonly gateway?: string;
  /** Protocols to try, in order. Default: pcp, natpmp, upnp. */
  readonly protocols?: readonly PortmapProtocol[];
  readonly leaseS?: number;
  readonly clock?: Clock;
  readonly udp?: UdpTransport;
  readonly http?: HttpTransport;
  readonly findGateway?: () => Promise<string | undefined>;
  /** Local port for the request sockets (default: a fresh ephemeral port per exchange). */
  readonly requestPort?: number;
  readonly log?: (message: string) => void;
}

export interface PortMapperStats {
  /** Mappings granted (first grants and renewals). */
  grants: number;
  /** Full attempts in which no protocol granted a mapping. */
  failedAttempts: number;
  /** Gateway restarts noticed through the epoch. */
  gatewayResets: number;
}

export interface ProbeResult {
  readonly gateway: string | undefined;
  readonly pcp: boolean;
  readonly natpmp: boolean;
  readonly upnp: boolean;
}

export interface PortMapperEvents {
  /** The mapped endpoint changed; undefined when the mapping is gone. */
  change: [mapping: PortMapping | undefined];
}

const sameEndpoint = (a: PortMapping | undefined, b: PortMapping | undefined): boolean =>
  a?.externalAddress === b?.externalAddress && a?.externalPort === b?.externalPort && a?.protocol === b?.protocol;

export class PortMapper extends EventEmitter<PortMapperEvents> {
  readonly internalPort: number;
  readonly stats: PortMapperStats = { grants: 0, failedAttempts: 0, gatewayResets: 0 };
  readonly #opts: PortMapperOptions;
  readonly #clock: Clock;
  readonly #leaseS: number;
  readonly #rejected: RejectCounts = {};
  readonly #abort = new AbortController();
  #clients: { gateway: string; list: ProtocolClient[] } | undefined;
  #mapping: { value: PortMapping; client: ProtocolClient; expiresAt: number } | undefined;
  #epoch: { value: number; at: number } | undefined;
  #timer: Timer | undefined;
  #running: Promise<void> | undefined;
  #retryMs = RETRY_MIN_MS;
  #started = false;
  #closed = false;

  constructor(opts: PortMapperOptions) {
    super();
    if (!Number.isInteger(opts.internalPort) || opts.internalPort < 1 || opts.internalPort > 0xffff) {
      throw new RangeError(`portmap: bad internal port ${opts.internalPort}`);
    }
    this.internalPort = opts.internalPort;
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#leaseS = opts.leaseS ?? DEFAULT_LEASE_S;
  }

  /** The current mapping, if any. */
  get mapping(): PortMapping | undefined {
    return this.#mapping?.value;
  }

  /** Refused replies so far, keyed "protocol:reason". */
  get rejected(): Readonly<RejectCounts> {
    return { ...this.#rejected };
  }

  /** Starts asking for a mapping now; later attempts follow by themselves. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#schedule(0, () => this.#attempt());
  }

  /** Which protocols the gateway answers (for netcheck). Creates no mapping. */
  async probe(): Promise<ProbeResult> {
    const clients = await this.#getClients();
    if (!clients) return { gateway: undefined, pcp: false, natpmp: false, upnp: false };
    const signal = this.#abort.signal;
    const answers = await Promise.all(clients.list.map(async (c) => [c.protocol, await c.probe(signal)] as const));
    const speaks = (p: PortmapProtocol): boolean => answers.some(([q, ok]) => q === p && ok);
    return { gateway: clients.gateway, pcp: speaks('pcp'), natpmp: speaks('natpmp'), upnp: speaks('upnp') };
  }

  /** Stops renewing and deletes the mapping at the gateway (best effort). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer?.cancel();
    this.#abort.abort();
    await this.#running?.catch(() => undefined);
    const current = this.#mapping;
    if (!current) return;
    this.#mapping = undefined;
    try {
      await current.client.unmap(current.value, new AbortController().signal);
      this.#log(`deleted ${current.value.protocol} mapping ${current.value.externalAddress}:${current.value.externalPort}`);
    } catch (err) {
      this.#log(`could not delete the ${current.value.protocol} mapping: ${(err as Error).message}`);
    }
    this.emit('change', undefined);
  }

  #schedule(ms: number, fn: () => Promise<void>): void {
    this.#timer?.cancel();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      this.#running = fn().finally(() => { this.#running = undefined; });
    }, ms);
  }

  /** Every protocol in order, the current one (if any) first. */
  async #attempt(preferred?: ProtocolClient): Promise<void> {
    const clients = await this.#getClients();
    const list = clients ? [...(preferred ? [preferred] : []), ...clients.list.filter((c) => c !== preferred)] : [];
    const previous = this.#mapping?.value;
    for (const client of list) {
      if (this.#closed) return;
      try {
        const result = await client.map({ internalPort: this.internalPort, lifetimeS: this.#leaseS, ...(previous?.protocol === client.protocol ? { previous } : {}) }, this.#abort.signal);
        if (this.#closed) return this.#discard(client, result.mapping);
        if (previous && previous.protocol !== client.protocol) void this.#discard(this.#mapping!.client, previous);
        return this.#granted(client, result);
      } catch (err) {
        if (this.#closed) return;
        this.#log(`${client.protocol}: ${(err as PortmapError).code ?? 'ERROR'} ${(err as Error).message}`);
      }
    }
    this.stats.failedAttempts++;
    if (!clients) this.#log('no default gateway');
    if (this.#mapping && this.#clock.now() < this.#mapping.expiresAt) {
      // The lease still runs: keep it and ask again soon.
      this.#schedule(Math.min(RENEW_RETRY_MS, this.#mapping.expiresAt - this.#clock.now()), () => this.#renew());
      return;
    }
    this.#lose();
    this.#schedule(this.#retryMs, () => this.#attempt());
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
  }

  /** Renews with the protocol that granted the mapping; falls over to the others if it says no. */
  async #renew(): Promise<void> {
    const current = this.#mapping;
    if (!current) return this.#attempt();
    if (this.#clock.now() >= current.expiresAt) {
      this.#lose();
      return this.#attempt();
    }
    try {
      const result = await current.client.map({ internalPort: this.internalPort, lifetimeS: this.#leaseS, previous: current.value }, this.#abort.signal);
      if (this.#closed) return this.#discard(current.client, result.mapping);
      this.#granted(current.client, result);
    } catch (err) {
      if (this.#closed) return;
      const code = (err as PortmapError).code;
      this.#log(`${current.client.protocol} renewal: ${code ?? 'ERROR'} ${(err as Error).message}`);
      if (code === 'PORTMAP_REFUSED' || code === 'PORTMAP_UNSUPPORTED') return this.#attempt(current.client);
      const left = current.expiresAt - this.#clock.now();
      if (left > 0) this.#schedule(Math.min(RENEW_RETRY_MS, left), () => this.#renew());
      else {
        this.#lose();
        await this.#attempt();
      }
    }
  }

  #granted(client: ProtocolClient, result: MapResult): void {
    const now = this.#clock.now();
    this.#checkEpoch(result.epoch, now);
    const previous = this.#mapping?.value;
    const lifetimeMs = result.mapping.lifetimeS * 1000;
    this.#mapping = { value: result.mapping, client, expiresAt: now + lifetimeMs };
    this.stats.grants++;
    this.#retryMs = RETRY_MIN_MS;
    this.#schedule(Math.max(MIN_RENEW_MS, lifetimeMs / 2), () => this.#renew());
    if (!sameEndpoint(previous, result.mapping)) {
      this.#log(`${client.protocol} mapping ${result.mapping.externalAddress}:${result.mapping.externalPort} -> :${this.internalPort} for ${result.mapping.lifetimeS} s`);
      this.emit('change', result.mapping);
    }
  }

  #lose(): void {
    if (!this.#mapping) return;
    this.#log(`${this.#mapping.value.protocol} mapping lost`);
    this.#mapping = undefined;
    this.emit('change', undefined);
  }

  /** A mapping granted after close() or replaced by another protocol's: delete it. */
  async #discard(client: ProtocolClient, mapping: PortMapping): Promise<void> {
    await client.unmap(mapping, new AbortController().signal).catch(() => undefined);
  }

  #checkEpoch(epoch: number | undefined, now: number): void {
    if (epoch === undefined) return;
    const last = this.#epoch;
    this.#epoch = { value: epoch, at: now };
    if (!last) return;
    const elapsedS = (now - last.at) / 1000;
    if (epoch + EPOCH_SLACK_S < last.value + (elapsedS * 7) / 8) {
      this.stats.gatewayResets++;
      this.#log(`the gateway's epoch went from ${last.value} to ${epoch}: it restarted and lost its mappings`);
    }
  }

  async #getClients(): Promise<{ gateway: string; list: ProtocolClient[] } | undefined> {
    const gateway = this.#opts.gateway ?? (await (this.#opts.findGateway ?? (async () => (await defaultGateway())?.address))());
    if (!gateway) return undefined;
    if (this.#clients?.gateway === gateway) return this.#clients;
    const ctx: ClientContext = {
      gateway,
      udp: this.#opts.udp ?? nodeUdpTransport,
      http: this.#opts.http ?? nodeHttpTransport,
      clock: this.#clock,
      onReject: (protocol: PortmapProtocol, reason: RejectReason) => {
        const key = `${protocol}:${reason}`;
        this.#rejected[key] = (this.#rejected[key] ?? 0) + 1;
      },
      ...(this.#opts.requestPort === undefined ? {} : { requestPort: this.#opts.requestPort }),
    };
    const make = { pcp: () => new PcpClient(ctx), natpmp: () => new NatpmpClient(ctx), upnp: () => new UpnpClient(ctx) };
    this.#clients = { gateway, list: (this.#opts.protocols ?? PROTOCOLS).map((p) => make[p]()) };
    return this.#clients;
  }

  #log(message: string): void {
    this.#opts.log?.(`portmap: ${message}`);
  }
}

/** Which port-mapping protocols the default gateway (or `gateway`) speaks, for netcheck. */
export async function probePortMapping(opts: Omit<PortMapperOptions, 'internalPort'> = {}): Promise<ProbeResult> {
  const mapper = new PortMapper({ ...opts, internalPort: 1 });
  try {
    return await mapper.probe();
  } finally {
    await mapper.close();
  }
}
