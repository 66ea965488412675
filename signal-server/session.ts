// One agent's WebSocket connection: rate limit, validation, the hello handshake, backpressure,
// and the abuse counter that closes the connection after repeated bad frames.
import { createHash, timingSafeEqual } from 'node:crypto';
import { nanoid } from 'nanoid';
import { WebSocket, type RawData } from 'ws';
import { PROTOCOL_VERSION, parseClientMessage, type ClientMessage, type ErrorCode } from '../shared/signal/index.js';
import type { Limits } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { StrikeCounter, TokenBucket, type KeyedRateLimiter } from './rate-limit.js';
import { prepare, type HubError, type HubMember, type PreparedFrame, type RoomHub } from './room-hub.js';

/** WebSocket close codes used by the server. */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_POLICY = 1008;
export const CLOSE_INTERNAL_ERROR = 1011;

/** How long a client gets to answer our close frame before the socket is cut. */
const CLOSE_GRACE_MS = 1000;

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
}

/** Where a session comes from: the peer as seen by TCP, and its key for per-address limits. */
export interface SessionOrigin {
  address: string;
  port: number;
  key: string;
}

/** ws reports protocol violations through errors with stable codes; we count them by kind. */
function wsErrorReason(code: unknown): string {
  switch (code) {
    case 'WS_ERR_INVALID_UTF8':
      return 'invalid_utf8';
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return 'frame_too_large';
    default:
      return 'ws_protocol_error';
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function digestToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class Session implements HubMember {
  readonly id = nanoid();
  readonly rooms = new Set<string>();
  /** Set by every frame and pong; cleared by each ping round. */
  alive = true;
  private welcomed = false;
  private closing = false;
  private closeReason: string | undefined;
  private lastRateLimitReply = -Infinity;
  private readonly bucket: TokenBucket;
  private readonly strikes: StrikeCounter;
  private helloTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;

  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly addressKey: string;

  constructor(
    private readonly ws: WebSocket,
    origin: SessionOrigin,
    private readonly ctx: SessionContext,
    onClosed: (session: Session, reason: string) => void,
  ) {
    this.remoteAddress = origin.address;
    this.remotePort = origin.port;
    this.addressKey = origin.key;
    const now = Date.now();
    this.bucket = new TokenBucket(ctx.limits.messageRate, ctx.limits.messageBurst, now);
    this.strikes = new StrikeCounter(ctx.limits.maxStrikes, ctx.limits.strikeForgiveMs, now);
    this.helloTimer = setTimeout(() => this.close('hello_timeout', CLOSE_POLICY, 'hello timeout'), ctx.limits.helloTimeoutMs);
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('error', (err: Error & { code?: unknown }) => {
      // ws closes the connection itself after these (1007 invalid UTF-8, 1009 too big, 1002 ...).
      const reason = wsErrorReason(err.code);
      ctx.metrics.rejectedFrames.inc(reason);
      this.closeReason ??= reason;
    });
    ws.on('close', () => {
      clearTimeout(this.helloTimer);
      clearTimeout(this.killTimer);
      ctx.hub.drop(this);
      onClosed(this, this.closeReason ?? 'client_closed');
    });
  }

  deliver(frame: PreparedFrame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > this.ctx.limits.sendBufferBytes) {
      // Never buffer without bound for a client that does not read.
      this.close('slow_reader');
      return;
    }
    this.ws.send(frame.bytes, { binary: false });
    this.ctx.metrics.framesOut.inc(frame.type);
  }

  /** Closes with a close frame when `code` is given, else cuts the TCP connection at once. */
  close(reason: string, code?: number, text?: string, graceMs = CLOSE_GRACE_MS): void {
    if (this.closing) return;
    this.closing = true;
    this.closeReason ??= reason;
    if (code === undefined) {
      this.ws.terminate();
      return;
    }
    this.ws.close(code, text);
    this.killTimer = setTimeout(() => this.ws.terminate(), graceMs);
  }

  /** One round of the idle check: drop if the last ping went unanswered, else ping again. */
  pingRound(): void {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.alive) {
      this.close('idle_timeout');
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  private sendError(code: ErrorCode, message: string, ref?: string): void {
    this.ctx.metrics.rejectedFrames.inc(code);
    this.deliver(prepare(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref }));
  }

  /** A malformed frame: reply, and close after too many in a short time. */
  private offence(code: ErrorCode, message: string, ref?: string): void {
    this.sendError(code, message, ref);
    if (this.strikes.add(Date.now())) this.close('abuse', CLOSE_POLICY, 'too many bad frames');
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    const now = Date.now();
    this.alive = true;
    // The connection's own budget first, so one flooding connection does not also drain the
    // budget its address shares with others behind the same NAT.
    const overBudget = !this.bucket.take(now)
      ? 'RATE_LIMITED'
      : !this.ctx.addressFrames.allow(this.addressKey, now)
        ? 'RATE_LIMITED_ADDRESS'
        : undefined;
    if (overBudget) {
      this.rateLimited(now, overBudget);
      return;
    }
    try {
      this.handleFrame(data, isBinary);
    } catch (err) {
      // A bug in handling one frame must cost this connection only, never the process.
      this.ctx.metrics.rejectedFrames.inc('INTERNAL_ERROR');
      this.ctx.log.error('frame handler failed', { id: this.id, error: err instanceof Error ? err.message : String(err) });
      this.close('internal_error', CLOSE_INTERNAL_ERROR, 'internal error');
    }
  }

  /** A frame over budget is dropped unread. */
  private rateLimited(now: number, reason: 'RATE_LIMITED' | 'RATE_LIMITED_ADDRESS'): void {
    this.ctx.metrics.rejectedFrames.inc(reason);
    // One error per second at most, so a flood cannot make us amplify it.
    if (now - this.lastRateLimitReply >= 1000) {
      this.lastRateLimitReply = now;
      const message = reason === 'RATE_LIMITED' ? 'too many frames; dropped' : 'too many frames from your address; dropped';
      this.deliver(prepare({ type: 'error', code: 'RATE_LIMITED', message }));
    }
    // Only a connection's own excess is abuse: behind a busy NAT, the shared budget can run
    // out under a client that did nothing wrong.
    if (reason === 'RATE_LIMITED' && this.strikes.add(now)) this.close('abuse', CLOSE_POLICY, 'rate limit exceeded');
  }

  private handleFrame(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.offence('BINARY_UNSUPPORTED', 'binary frames are reserved for the relay');
      return;
    }
    const parsed = parseClientMessage(toBuffer(data).toString('utf8'));
    if (!parsed.ok) {
      this.offence(parsed.code, parsed.message, parsed.ref);
      return;
    }
    this.ctx.metrics.framesIn.inc(parsed.message.type);
    this.dispatch(parsed.message);
  }

  private tokenMatches(token: string | undefined): boolean {
    const expected = this.ctx.tokenDigest;
    if (!expected) return true;
    return token !== undefined && timingSafeEqual(digestToken(token), expected);
  }

  private dispatch(msg: ClientMessage): void {
    if (!this.welcomed) {
      if (msg.type !== 'hello') {
        this.offence('HELLO_REQUIRED', 'send hello first', msg.ref);
        return;
      }
      if (msg.v !== PROTOCOL_VERSION) {
        this.sendError('VERSION', `this server speaks protocol version ${PROTOCOL_VERSION}`, msg.ref);
        this.close('version', CLOSE_PROTOCOL_ERROR, 'unsupported protocol version');
        return;
      }
      if (!this.tokenMatches(msg.token)) {
        this.sendError('UNAUTHORIZED', 'missing or wrong token', msg.ref);
        this.close('unauthorized', CLOSE_POLICY, 'unauthorized');
        return;
      }
      clearTimeout(this.helloTimer);
      this.welcomed = true;
      this.deliver(
        prepare({
          type: 'welcome',
          v: PROTOCOL_VERSION,
          serverId: this.ctx.serverId,
          id: this.id,
          yourAddress: formatEndpoint(this.remoteAddress, this.remotePort),
          ...(msg.ref === undefined ? {} : { ref: msg.ref }),
        }),
      );
      this.ctx.log.debug('agent welcomed', { id: this.id, address: this.remoteAddress });
      return;
    }
    let error: HubError | undefined;
    switch (msg.type) {
      case 'hello':
        this.offence('BAD_STATE', 'hello was already accepted', msg.ref);
        return;
      case 'ping':
        this.deliver(prepare(msg.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: msg.ref }));
        return;
      case 'join':
        error = this.ctx.hub.join(this, msg.room, msg.announce, msg.ref);
        break;
      case 'leave':
        error = this.ctx.hub.leave(this, msg.room);
        break;
      case 'update':
        error = this.ctx.hub.update(this, msg.room, msg.announce);
        break;
      case 'send':
        error = this.ctx.hub.send(this, msg.room, msg.to, msg.data);
        break;
    }
    if (error) this.sendError(error.code, error.message, msg.ref);
  }
}
