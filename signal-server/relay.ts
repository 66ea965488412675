// The server's packet relay: members that cannot reach each other directly send each other their
// (end-to-end encrypted) WireGuard messages through us, over UDP (`--relay`, a socket of its own)
// or in binary WebSocket frames (`wsRelay`, for members whose UDP is blocked). Both transports
// go through one forwarding core (shared/relay/relay-switch.ts): a packet arriving on either is
// delivered to the destination's UDP binding when it has one, else on its WebSocket.
//
// Who may use it: a member proves its member id to the UDP relay with the token its welcome
// carried (HMAC of the id under a secret that lives only in this process), and packets only flow
// between members that share a room.
//
// The UDP socket is the engine's batched one (recvmmsg per wake-up, with GRO; what one wake-up
// forwards leaves in one sendmmsg, with GSO for runs to one member): node:dgram paid a syscall and
// a JS callback for every datagram, which made the relay the slow hop of a relayed path.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { BatchUdpSocket } from '../agent/daemon/batch-udp-socket.js';
import type { Endpoint as UdpEndpoint } from '../shared/net/address.js';
import type { HostPort } from '../shared/net/host-port.js';
import { RelaySwitch, type Datagram } from '../shared/relay/relay-switch.js';
import { dataPayloadLength } from '../shared/wire/relay.js';
import type { Limits } from './config.js';
import type { Logger } from '../shared/log.js';
import type { Metrics } from './metrics.js';

/** How a WebSocket delivery went: sent, dropped because the client reads too slowly, or impossible. */
export type WsDelivery = 'sent' | 'congested' | 'closed';

/** A connected member, as the relay sees it (a Session). */
export interface RelayMember {
  readonly id: string;
  readonly rooms: ReadonlySet<string>;
  /** Sends `payload` from member `from` in a binary WebSocket frame. */
  deliverRelay(from: string, payload: Buffer): WsDelivery;
  /** Its UDP relay binding is now at `address` (it answered our challenge there). */
  relayBound(address: string): void;
}

export interface ServerRelayOptions {
  /** The connected member with this id, if any. */
  member(id: string): RelayMember | undefined;
  /** Deliver to members without a UDP binding on their WebSocket, and accept binary frames. */
  wsRelay: boolean;
  limits: Pick<Limits, 'relayBytesPerSecond' | 'relayBurstBytes' | 'addressRelayBytesPerSecond' | 'addressRelayBurstBytes' | 'maxConnections'>;
  metrics: Metrics;
  log: Logger;
}

/** What became of a packet a member sent over its WebSocket. */
export type ForwardResult = 'delivered' | 'unreachable' | 'dropped';

const TOKEN_BYTES = 32;
const SWEEP_INTERVAL_MS = 10_000;

function shareRoom(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const room of small) if (large.has(room)) return true;
  return false;
}

export class ServerRelay {
  readonly wsRelay: boolean;
  private readonly secret = randomBytes(32);
  private readonly core: RelaySwitch;
  private socket: BatchUdpSocket | undefined;
  private bound: HostPort | undefined;
  private ip: string | undefined;
  private closed = false;
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(private readonly o: ServerRelayOptions) {
    this.wsRelay = o.wsRelay;
    this.core = new RelaySwitch(
      {
        authorize: (id, auth) => this.authorize(id, auth),
        mayForward: (from, to) => this.mayForward(from, to),
        deliverElsewhere: (from, to, payload) => this.deliverOnWebSocket(from, to, payload),
        bound: (id, endpoint) => this.o.member(id)?.relayBound(endpoint.address),
      },
      {
        bytesPerSecond: o.limits.relayBytesPerSecond,
        burstBytes: o.limits.relayBurstBytes,
        groupBytesPerSecond: o.limits.addressRelayBytesPerSecond,
        groupBurstBytes: o.limits.addressRelayBurstBytes,
        maxBindings: o.limits.maxConnections,
      },
    );
    o.metrics.relay = { bindings: () => this.core.bindingCount, dropped: () => this.core.stats.dropped };
    this.sweepTimer = setInterval(() => this.core.sweep(Date.now()), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Where the UDP relay listens, once it does. */
  get udp(): HostPort | undefined {
    return this.bound;
  }

  /** The proof of member id `id` for BIND: HMAC-SHA256 under this process's secret. */
  tokenFor(id: string): Buffer {
    return createHmac('sha256', this.secret).update(id, 'latin1').digest();
  }

  private authorize(id: string, auth: Buffer): boolean {
    if (!this.o.member(id) || auth.length !== TOKEN_BYTES) return false;
    return timingSafeEqual(this.tokenFor(id), auth);
  }

  private mayForward(from: string, to: string): boolean {
    const dest = this.o.member(to);
    // Nobody by that id (it left, or never was): the core reports the destination unreachable.
    if (!dest) return true;
    const source = this.o.member(from);
    return source !== undefined && shareRoom(source.rooms, dest.rooms);
  }

  private deliverOnWebSocket(from: string, to: string, payload: Buffer): boolean {
    if (!this.wsRelay) return false;
    const dest = this.o.member(to);
    if (!dest) return false;
    switch (dest.deliverRelay(from, payload)) {
      case 'sent':
        this.o.metrics.relayed('ws', payload.length);
        return true;
      case 'congested':
        // Lost like any datagram under congestion; the member is there, so not "unreachable".
        this.o.metrics.relayDropped.inc('ws_congested');
        return true;
      case 'closed':
        return false;
    }
  }

  /** Opens the UDP relay socket. */
  async listen(host: string, port: number): Promise<HostPort> {
    // The native socket binds IP addresses only; a listen host may be a name.
    const ip = isIP(host) ? host : (await lookup(host)).address;
    const socket = await this.bindSocket(ip, port);
    this.socket = socket;
    this.bound = { host, port: socket.port };
    this.ip = ip;
    return this.bound;
  }

  private async bindSocket(ip: string, port: number): Promise<BatchUdpSocket> {
    try {
      const socket: BatchUdpSocket = await BatchUdpSocket.bind(
        port,
        (msg, from) => this.onDatagram(msg, from),
        () => this.flush(),
        (err) => void this.reopen(socket, err),
        { host: ip },
      );
      return socket;
    } catch (e) {
      // The same words as node:dgram's bind error, which operators know.
      const code = (e as NodeJS.ErrnoException).code;
      throw code ? Object.assign(new Error(`relay: bind ${code} ${ip}:${port}`), { code }) : e;
    }
  }

  /**
   * The socket stopped receiving (a poll or fatal read error): every relayed pair would go
   * silent, so a new socket takes the same port. Members keep their bindings (they are keyed by
   * member id and source address, not by socket). If the port cannot be had again the relay
   * stays down and says so; the WebSocket relay still carries what it can.
   */
  private async reopen(failed: BatchUdpSocket, err: Error): Promise<void> {
    if (failed !== this.socket || !this.bound || this.ip === undefined) return;
    const port = this.bound.port;
    this.o.log.error('relay socket stopped receiving; reopening it on the same port', { port, error: err.message });
    this.flush(); // still `failed`: what the kernel refuses in this last flush is counted
    failed.close();
    this.socket = undefined;
    try {
      const fresh = await this.bindSocket(this.ip, port);
      if (this.closed) {
        fresh.close();
        return;
      }
      this.socket = fresh;
      this.o.log.info('relay socket reopened', { port });
    } catch (e) {
      this.o.log.error('relay socket cannot be reopened: the UDP relay is down', { port, error: (e as Error).message });
    }
  }

  /** Test-only: forces a poll error on the relay socket (the addon needs WGP2P_TEST_HOOKS=1). */
  injectPollError(errno: number): void {
    this.socket?.injectPollError(errno);
  }

  private onDatagram(msg: Buffer, from: UdpEndpoint): void {
    try {
      this.send(this.core.receive(msg, from, Date.now()));
    } catch (err) {
      // One datagram must never take the process down.
      this.o.metrics.relayDropped.inc('error');
      this.o.log.error('relay datagram handler failed', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Queues `out` on the socket: flushed at the end of this wake-up (or in a microtask). */
  private send(out: Datagram[]): void {
    const socket = this.socket;
    if (!socket) return;
    for (const d of out) {
      const relayed = dataPayloadLength(d.data);
      if (relayed !== undefined) this.o.metrics.relayed('udp', relayed);
      socket.enqueue(d.data, d.to);
    }
  }

  /** Sends what this wake-up queued in one go; what the kernel refused counts as send errors. */
  private flush(): void {
    const socket = this.socket;
    if (!socket) return;
    const before = socket.droppedSends;
    socket.flush();
    const refused = socket.droppedSends - before;
    if (refused > 0) this.o.metrics.relayDropped.inc('udp_send_error', refused);
  }

  /** A packet member `from` (at address group `group`) sent in a binary WebSocket frame, for member `to`. */
  forward(from: string, to: string, payload: Buffer, now: number, group: string): ForwardResult {
    const unreachableBefore = this.core.stats.dropped.get('unreachable') ?? 0;
    const r = this.core.forward(from, to, payload, now, group);
    this.send(r.out);
    this.flush();
    if (r.delivered) return 'delivered';
    return (this.core.stats.dropped.get('unreachable') ?? 0) > unreachableBefore ? 'unreachable' : 'dropped';
  }

  /** Member `id` disconnected: its binding goes at once. */
  memberGone(id: string): void {
    this.core.unbind(id);
  }

  get bindingCount(): number {
    return this.core.bindingCount;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    const socket = this.socket;
    this.socket = undefined;
    socket?.close();
  }
}
