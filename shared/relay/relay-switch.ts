// The forwarding core of a relay, shared by bounce peers and the server's built-in relay. Pure:
// datagrams and frames in, datagrams out, time passed in; the sockets live with the callers.
//
// A member binds its member id to the UDP address its BIND came from, proving with `auth` that
// the id is its own (the policy decides how: a room pair key at a bounce, a server-issued token
// at the server). DATA from a bound address is forwarded to the destination's binding, with the
// source's id in front; the relay never reads the payload beyond checking it has the shape of a
// WireGuard message (or a members' disco probe). Bindings expire when the member stops refreshing
// them, and each member has its own byte budget so one cannot starve the others; the members
// behind one address (IPv6: /64) share a budget too, so many connections do not multiply it.
//
// A BIND's source address could be forged, which would aim a member's relayed traffic at a
// victim; so a binding only moves to (or starts at) an address that answered a CHALLENGE: a
// cookie, a MAC of the address, id and time under the relay's secret, sent there and echoed in a
// second BIND. Refreshing from the bound address needs no cookie.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { formatEndpoint, type Endpoint } from '../net/address.js';
import { hostGroup } from '../net/address-group.js';
import { KeyedRateLimiter, TokenBucket } from '../rate-limit.js';
import { DataFramer, DataHeaders, DataIdReader, reframeInPlace } from '../wire/relay-data.js';
import {
  dataPayloadOffset,
  decodeRelayPacket,
  encodeBound,
  encodeChallenge,
  encodeUnreachable,
  isRelayablePayload,
  RELAY_BIND,
  RELAY_COOKIE_BYTES,
} from '../wire/relay.js';

/** A cookie is good for the period it was made in and the next one. */
const COOKIE_PERIOD_MS = 60_000;
/** When the table is full, expired bindings are looked for at most this often. */
const FULL_SWEEP_GAP_MS = 1_000;

export interface RelayPolicy {
  /** True when `auth` proves the sender owns member id `id`. */
  authorize(id: string, auth: Buffer, now: number): boolean;
  /** True when `from` may send to `to` (e.g. both are members of one room). */
  mayForward(from: string, to: string): boolean;
  /**
   * Delivers to a destination with no UDP binding by other means (the server's WebSocket);
   * returns false when it cannot, and the sender is told the destination is unreachable.
   */
  deliverElsewhere?(from: string, to: string, payload: Buffer): boolean;
  /** Member `id` is now bound at `endpoint` (a new binding, or one that moved): a proven address of its. */
  bound?(id: string, endpoint: Endpoint): void;
}

export interface RelayLimits {
  /** Each member's sustained relayed bytes per second, and its burst. */
  bytesPerSecond: number;
  burstBytes: number;
  /** What all members sending from one address (IPv6: /64) may relay together, and its burst. */
  groupBytesPerSecond: number;
  groupBurstBytes: number;
  /** A binding not refreshed (by BIND or DATA) for this long is dropped. */
  bindingTtlMs: number;
  maxBindings: number;
  /** At most one UNREACHABLE per source and destination per this many ms. */
  unreachableGapMs: number;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  bytesPerSecond: 25_000_000, // 200 Mbit/s per member
  burstBytes: 4_000_000,
  // A few members behind one NAT each at full speed, not a hundred connections' worth.
  groupBytesPerSecond: 100_000_000,
  groupBurstBytes: 16_000_000,
  bindingTtlMs: 90_000,
  maxBindings: 10_000,
  unreachableGapMs: 1_000,
};

export interface Datagram {
  to: Endpoint;
  data: Buffer;
}

interface Binding {
  id: string;
  /** Unset once another member took the address (a NAT reused the mapping); the budget stays. */
  endpoint: Endpoint | undefined;
  key: string | undefined;
  /** hostGroup of the endpoint: whose address budget this binding's DATA draws on. */
  group: string;
  seenAt: number;
  bucket: TokenBucket;
  unreachableSentAt: Map<string, number>;
}

export type DropReason =
  | 'malformed'
  | 'unbound_source'
  | 'bad_auth'
  | 'not_wireguard'
  | 'not_allowed'
  | 'self'
  | 'rate_limited'
  | 'address_rate_limited'
  | 'unreachable'
  | 'full'
  | 'unexpected';

export interface RelayStats {
  packets: number;
  bytes: number;
  binds: number;
  challenges: number;
  dropped: Map<DropReason, number>;
}

export class RelaySwitch {
  readonly stats: RelayStats = { packets: 0, bytes: 0, binds: 0, challenges: 0, dropped: new Map() };
  private readonly byId = new Map<string, Binding>();
  private readonly byEndpoint = new Map<string, Binding>();
  private readonly limits: RelayLimits;
  /** Byte budgets per source address group (hostGroup). */
  private readonly groups: KeyedRateLimiter;
  private lastFullSweepAt = -Infinity;
  // The DATA hot path: no buffer allocated or id re-encoded per forwarded packet (relay-data.ts).
  private readonly headers = new DataHeaders();
  private readonly framer = new DataFramer();
  private readonly ids = new DataIdReader();
  /** The last source address looked up, and its key: a wake-up's datagrams come in runs per sender. */
  private lastFrom: { address: string; port: number; key: string } = { address: '', port: -1, key: '' };

  constructor(
    private readonly policy: RelayPolicy,
    limits: Partial<RelayLimits> = {},
    private readonly cookieSecret: Buffer = randomBytes(32),
  ) {
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...limits };
    this.groups = new KeyedRateLimiter(this.limits.groupBytesPerSecond, this.limits.groupBurstBytes);
  }

  /** Members bound to an address now. */
  get bindingCount(): number {
    return this.byEndpoint.size;
  }

  private cookie(id: string, key: string, period: number): Buffer {
    return createHmac('sha256', this.cookieSecret).update(`wgp2p relay cookie v1\0${period}\0${key}\0${id}`).digest().subarray(0, RELAY_COOKIE_BYTES);
  }

  private cookieValid(cookie: Buffer, id: string, key: string, now: number): boolean {
    const period = Math.floor(now / COOKIE_PERIOD_MS);
    return [period, period - 1].some((p) => timingSafeEqual(this.cookie(id, key, p), cookie));
  }

  endpointOf(id: string): Endpoint | undefined {
    return this.byId.get(id)?.endpoint;
  }

  private drop(reason: DropReason): [] {
    this.stats.dropped.set(reason, (this.stats.dropped.get(reason) ?? 0) + 1);
    return [];
  }

  /**
   * One UDP datagram from `from`; returns the datagrams to send. A DATA datagram's bytes are
   * reused for the frame it is forwarded as (its header is overwritten in place).
   */
  receive(data: Buffer, from: Endpoint, now: number): Datagram[] {
    const payloadAt = dataPayloadOffset(data);
    if (payloadAt >= 0) return this.receiveData(data, payloadAt, from, now);
    const p = decodeRelayPacket(data);
    if (!p) return this.drop('malformed');
    if (p.type === RELAY_BIND) {
      if (!this.policy.authorize(p.id, p.auth, now)) return this.drop('bad_auth');
      if (!this.byId.has(p.id) && !this.roomForOneMore(now)) return this.drop('full');
      const key = formatEndpoint(from);
      const proven = this.byId.get(p.id)?.key === key || (p.cookie !== undefined && this.cookieValid(p.cookie, p.id, key, now));
      if (!proven) {
        // As small as the BIND it answers: a forged source gets nothing amplified.
        this.stats.challenges++;
        return [{ to: from, data: encodeChallenge(p.txid, this.cookie(p.id, key, Math.floor(now / COOKIE_PERIOD_MS))) }];
      }
      this.bind(p.id, from, key, now);
      return [{ to: from, data: encodeBound(p.txid) }];
    }
    // Every DATA went to receiveData (one decodeRelayPacket accepts always has a payload offset).
    return this.drop('unexpected');
  }

  private receiveData(data: Buffer, payloadAt: number, from: Endpoint, now: number): Datagram[] {
    const to = this.ids.read(data, payloadAt);
    if (to === undefined) return this.drop('malformed');
    const source = this.byEndpoint.get(this.keyOf(from));
    if (!source) return this.drop('unbound_source');
    source.seenAt = now;
    return this.route(source.id, to, data.subarray(payloadAt), now, source, source.group, data).out;
  }

  private keyOf(from: Endpoint): string {
    const last = this.lastFrom;
    if (from.address !== last.address || from.port !== last.port) this.lastFrom = { address: from.address, port: from.port, key: formatEndpoint(from) };
    return this.lastFrom.key;
  }

  /**
   * A payload from member `from` reaching us some other way (the server's WebSocket, from an
   * address in `group`, see hostGroup): forwarded like DATA. Returns the datagrams to send, and
   * whether it was delivered at all.
   */
  forward(from: string, to: string, payload: Buffer, now: number, group: string): { out: Datagram[]; delivered: boolean } {
    return this.route(from, to, payload, now, this.byId.get(from), group);
  }

  /** `inbound`: the DATA datagram `payload` came in, whose bytes the forwarded frame may reuse. */
  private route(from: string, to: string, payload: Buffer, now: number, source: Binding | undefined, group: string, inbound?: Buffer): { out: Datagram[]; delivered: boolean } {
    const dropped = (reason: DropReason) => ({ out: this.drop(reason), delivered: false });
    if (!isRelayablePayload(payload)) return dropped('not_wireguard');
    // Relaying to oneself only burns the relay's bandwidth (a loop through us).
    if (from === to) return dropped('self');
    if (!this.policy.mayForward(from, to)) return dropped('not_allowed');
    if (source && !source.bucket.take(now, payload.length)) return dropped('rate_limited');
    if (!this.groups.allow(group, now, payload.length)) return dropped('address_rate_limited');
    const dest = this.byId.get(to)?.endpoint;
    if (dest) {
      this.count(payload.length);
      const header = this.headers.get(from);
      const data = (inbound && reframeInPlace(inbound, inbound.length - payload.length, header)) ?? this.framer.frame(header, payload);
      return { out: [{ to: dest, data }], delivered: true };
    }
    if (this.policy.deliverElsewhere?.(from, to, payload)) {
      this.count(payload.length);
      return { out: [], delivered: true };
    }
    this.drop('unreachable');
    return { out: this.unreachable(source, to, now), delivered: false };
  }

  /** Tells a bound source that `to` is not here, at most once per unreachableGapMs. */
  private unreachable(source: Binding | undefined, to: string, now: number): Datagram[] {
    if (!source?.endpoint) return [];
    const last = source.unreachableSentAt.get(to);
    if (last !== undefined && now - last < this.limits.unreachableGapMs) return [];
    source.unreachableSentAt.set(to, now);
    if (source.unreachableSentAt.size > 64) source.unreachableSentAt.delete(source.unreachableSentAt.keys().next().value!);
    return [{ to: source.endpoint, data: encodeUnreachable(to) }];
  }

  private count(bytes: number): void {
    this.stats.packets++;
    this.stats.bytes += bytes;
  }

  /**
   * True when a new id may bind; a full table is swept first, at most once per FULL_SWEEP_GAP_MS.
   * The cap counts bindings that lost their address too: they hold a budget until they expire.
   */
  private roomForOneMore(now: number): boolean {
    if (this.byId.size >= this.limits.maxBindings && now - this.lastFullSweepAt >= FULL_SWEEP_GAP_MS) {
      this.lastFullSweepAt = now;
      this.sweep(now);
    }
    return this.byId.size < this.limits.maxBindings;
  }

  /** Binds `id` to `endpoint` (moving it if the member's address changed). */
  private bind(id: string, endpoint: Endpoint, key: string, now: number): void {
    let b = this.byId.get(id);
    const moved = b?.key !== key;
    if (!b) {
      b = { id, endpoint, key, group: hostGroup(endpoint.address), seenAt: now, bucket: new TokenBucket(this.limits.bytesPerSecond, this.limits.burstBytes, now), unreachableSentAt: new Map() };
      this.byId.set(id, b);
    } else if (b.key !== key) {
      if (b.key !== undefined && this.byEndpoint.get(b.key) === b) this.byEndpoint.delete(b.key);
      b.endpoint = endpoint;
      b.key = key;
      b.group = hostGroup(endpoint.address);
    }
    // Another member bound from this address before (its NAT mapping was reused): it loses the
    // address but keeps its budget until it expires, so taking turns on one address resets none.
    const previous = this.byEndpoint.get(key);
    if (previous && previous !== b) {
      previous.endpoint = undefined;
      previous.key = undefined;
    }
    this.byEndpoint.set(key, b);
    b.seenAt = now;
    this.stats.binds++;
    if (moved) this.policy.bound?.(id, endpoint);
  }

  /** Forgets `id` at once (it left the room, or its connection to the server closed). */
  unbind(id: string): void {
    const b = this.byId.get(id);
    if (!b) return;
    this.byId.delete(id);
    if (b.key !== undefined && this.byEndpoint.get(b.key) === b) this.byEndpoint.delete(b.key);
  }

  /** Drops bindings that were not refreshed in time. */
  sweep(now: number): void {
    for (const b of this.byId.values()) if (now - b.seenAt > this.limits.bindingTtlMs) this.unbind(b.id);
    this.groups.sweep(now);
  }
}
