// What the join agent needs from the world, as narrow ports: a clock with timers, the tunnel (its
// socket, its engine, its routes and addresses) and the signalling connection. host.ts plugs in the
// real ones; agent/test/fixtures/join-net.ts plugs in an in-memory network and a fake clock.
import type { NetworkInterfaceInfo } from 'node:os';
import type { Endpoint, Prefix } from '../../shared/net/address.js';
import type { FilteringProbe } from '../../shared/stun/discovery.js';
import type { ClientMessage } from '../../shared/signal/index.js';
import type { Clock } from '../wireguard/clock.js';
import type { SignalHandlers } from './signalling/signal-client.js';
import type { DnsPort } from './names/dns-port.js';
import type { ExitRoutePort } from './routes/exit-node.js';

export type TimerHandle = unknown;

export interface JoinClock extends Clock {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemJoinClock: JoinClock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * The WireGuard engine as the join agent sees it: peers by public key. Only the path arbiter
 * (paths/arbiter.ts) calls setEndpoint; the engine's own roaming still moves endpoints itself.
 */
export interface JoinEngine {
  addPeer(publicKey: Buffer, presharedKey: Buffer, keepaliveSeconds: number): boolean;
  removePeer(publicKey: Buffer): void;
  /** Changes the peer's persistent keepalive (0 turns it off); false when the peer is gone. */
  setKeepalive(publicKey: Buffer, seconds: number): boolean;
  hasPeer(publicKey: Buffer): boolean;
  /** Where the engine sends to the peer now (after its roaming, if any). */
  endpoint(publicKey: Buffer): Endpoint | undefined;
  /** Points the peer at `to` and sends a keepalive (a handshake when there is no session). */
  setEndpoint(publicKey: Buffer, to: Endpoint): void;
  /** Bytes the engine authenticated from the peer: moves only for genuine packets. */
  authenticatedBytes(publicKey: Buffer): number;
  /** When data (not keepalives) last went to or came from the peer (clock ms); -Infinity if never. */
  lastDataAt?(publicKey: Buffer): number;
  /** `cb` hears when data starts moving for a peer that was quiet (the agent's idle timers wake up). */
  onActivity?(cb: (publicKey: Buffer) => void): void;
  /** A WireGuard datagram, as if it came from `from` (relayed packets enter here). */
  receive(datagram: Buffer, from: Endpoint): void;
  /** Routes `prefix` to the peer (its allowed IPs); false when the peer is gone. */
  allow(prefix: Prefix, publicKey: Buffer): boolean;
  disallow(prefix: Prefix, publicKey: Buffer): void;
}

/** One extra UDP socket (birthday punching's hard side, paths/direct/extra-sockets.ts). */
export interface ExtraSocket {
  readonly port: number;
  send(data: Buffer, to: Endpoint): void;
  close(): void;
}

export interface TunnelPort {
  readonly engine: JoinEngine;
  readonly listenPort: number;
  readonly dualStack: boolean;
  readonly ifname: string;
  /** A datagram of another protocol (STUN, disco) from the WireGuard socket, now. */
  sendDatagram(data: Buffer, to: Endpoint): void;
  /** A datagram for the socket's next batch. */
  queueDatagram(data: Buffer, to: Endpoint): void;
  addRoute(cidr: string): Promise<void>;
  /** Removes the tunnel's route for `cidr` (one already gone counts as removed). */
  removeRoute(cidr: string): Promise<void>;
  replaceAddress(from: string | undefined, to: string): Promise<void>;
  close(reason: string): void;
  /** Opens another UDP socket on any port; absent where there are none (birthday punching is then off). */
  openSocket?(onMessage: (data: Buffer, from: Endpoint) => void): Promise<ExtraSocket>;
}

export interface SignallingPort {
  readonly memberId: string | undefined;
  readonly stats: { welcomes: number; attempts: number; invalidFrames: number };
  start(handlers: SignalHandlers): void;
  send(message: ClientMessage): boolean;
  sendBinary(frame: Buffer): boolean;
  reconnect(why: string): void;
  close(): void;
}

/**
 * A port mapping of our WireGuard port on the default gateway (PCP, NAT-PMP or UPnP IGD), kept
 * and renewed by the host (agent/portmap); an in-memory network fakes it.
 */
export interface PortmapPort {
  /** Starts asking for a mapping of `internalPort`; `changed` gets its public endpoint, undefined when lost. */
  start(internalPort: number, changed: (external: Endpoint | undefined) => void): void;
  /** Stops renewing and deletes the mapping at the gateway (best effort). */
  close(): Promise<void>;
}

/** Everything the agent gets from its host (host.ts, or an in-memory network in tests). */
export interface JoinPorts {
  clock: JoinClock;
  tunnel: TunnelPort;
  signal: SignallingPort;
  /** The server's STUN service at `port` (on the host of the server's URL). */
  resolveStun(port: number): Promise<Endpoint>;
  /** The server's STUN port we start with (--stun-port; its welcome may name another). */
  stunPort: number;
  /** Absent with --no-portmap. */
  portmap?: PortmapPort;
  /** For in-memory networks: our interfaces, and the NAT filtering probe. */
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
  probeFiltering?: FilteringProbe;
  /** UDP and TCP sockets for the room's DNS (names/). */
  dns?: DnsPort;
  /** The host's default route through the tunnel, for `--exit-node`. */
  exitRoute?: ExitRoutePort;
}
