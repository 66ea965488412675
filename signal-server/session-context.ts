// What a session is given by the server (its context) and where it comes from: the server builds
// these, the session reads them.
import type { Limits } from './config.js';
import type { Logger } from '../shared/log.js';
import type { Metrics } from './metrics.js';
import type { KeyedRateLimiter } from '../shared/rate-limit.js';
import type { ServerRelay } from './relay.js';
import type { RoomHub } from './room-hub.js';

export interface SessionContext {
  hub: RoomHub;
  metrics: Metrics;
  limits: Limits;
  log: Logger;
  serverId: string;
  /** SHA-256 of the configured token, or undefined when none is required. */
  tokenDigest: Buffer | undefined;
  /** Frame budget shared by all connections from one address (see addressKey). */
  addressFrames: KeyedRateLimiter;
  /** The STUN port, told to agents in welcome; undefined without STUN. */
  stunPort: number | undefined;
  /** The packet relay, when the UDP or the WebSocket relay is on. */
  relay: ServerRelay | undefined;
}

/** Where a session comes from: the peer as seen by TCP, and its key for per-address limits. */
export interface SessionOrigin {
  address: string;
  port: number;
  /** Its address group (IPv6: /64) and network (/24, /56), as the gate groups them. */
  key: string;
  subnet: string;
}
