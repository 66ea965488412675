// Shared vocabulary of the port-mapping client: what a mapping is, how a decoder says "no",
// and the transports and clock the mapper is given (real ones in node-transports.ts, fakes in
// the unit tests), so that every protocol's logic runs deterministically under test.

export const PROTOCOLS = ['pcp', 'natpmp', 'upnp'] as const;
export type PortmapProtocol = (typeof PROTOCOLS)[number];

/** A mapping the gateway granted: packets to externalAddress:externalPort reach internalPort. */
export interface PortMapping {
  readonly protocol: PortmapProtocol;
  readonly externalAddress: string;
  readonly externalPort: number;
  readonly internalPort: number;
  /** Lifetime the gateway granted, in seconds (> 0). */
  readonly lifetimeS: number;
}

/** Why a datagram or document was refused. Stable strings: they key the mapper's counters. */
export type RejectReason =
  | 'short'
  | 'oversized'
  | 'bad-version'
  | 'bad-opcode'
  | 'not-response'
  | 'nonce-mismatch'
  | 'wrong-source'
  | 'bad-protocol'
  | 'bad-port'
  | 'port-mismatch'
  | 'zero-lifetime'
  | 'bad-address'
  | 'private-external'
  | 'bad-location'
  | 'bad-document'
  | 'bad-http';

/** A decoder's answer: it never throws, it says what was wrong. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: RejectReason };

export const accept = <T>(value: T): Decoded<T> => ({ ok: true, value });
export const reject = <T = never>(reason: RejectReason): Decoded<T> => ({ ok: false, reason });

/** Stable error codes of the port mapper. */
export type PortmapErrorCode =
  | 'PORTMAP_TIMEOUT' // nobody (acceptable) answered in time
  | 'PORTMAP_REFUSED' // the gateway answered with a failure result
  | 'PORTMAP_UNSUPPORTED' // the gateway does not speak this protocol (version/opcode refused)
  | 'PORTMAP_NO_GATEWAY' // no default gateway to ask
  | 'PORTMAP_CLOSED' // the mapper was closed meanwhile
  | 'PORTMAP_TRANSPORT'; // a socket or HTTP failure

export class PortmapError extends Error {
  readonly code: PortmapErrorCode;
  constructor(code: PortmapErrorCode, message: string) {
    super(message);
    this.name = 'PortmapError';
    this.code = code;
  }
}

export interface Remote {
  readonly address: string;
  readonly port: number;
}

/** One UDP socket as the protocols need it; bound before it is handed out. */
export interface UdpEndpoint {
  send(data: Uint8Array, port: number, address: string): void;
  /** Replaces the message handler. */
  onMessage(handler: (data: Uint8Array, from: Remote) => void): void;
  close(): void;
}

export interface UdpTransport {
  /** A socket on a fresh local port (or `localPort`), ready to send. */
  open(opts?: { localPort?: number }): Promise<UdpEndpoint>;
  /** The local IPv4 address the kernel would use toward `address`. */
  localAddressToward(address: string): Promise<string>;
}

export interface HttpRequest {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The response body is cut off (request failed) beyond this many bytes. */
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export interface HttpTransport {
  /** Resolves the response, or rejects (timeout, oversized body, socket error). */
  request(req: HttpRequest): Promise<HttpResponse>;
}

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const h = setTimeout(fn, ms);
    h.unref?.();
    return { cancel: () => clearTimeout(h) };
  },
};

/** Promise-returning sleep on an injected clock. */
export function delay(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Counts of refused replies, by protocol and reason ("pcp:nonce-mismatch": 3). */
export type RejectCounts = Record<string, number>;

export type RejectSink = (protocol: PortmapProtocol, reason: RejectReason) => void;
