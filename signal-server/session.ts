// One agent's WebSocket connection: rate limit, validation, the hello handshake, backpressure,
// and the abuse counter that closes the connection after repeated bad frames. Binary frames after
// welcome are the WebSocket packet relay (relay.ts) when it is on: a byte budget of their own,
// outside the frame budget of the JSON messages.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { nanoid } from 'nanoid';
import { WebSocket, type RawData } from 'ws';
import { decodeWsFrame, encodeWsFrame } from '../shared/wire/relay.js';
import { PROTOCOL_VERSION, parseClientMessage, type ClientMessage, type ErrorCode } from '../shared/signal/index.js';
import { JOIN_NONCE_BYTES, verifyJoin } from '../shared/signal/join-proof.js';
import { endpointFromRinfo, formatEndpoint } from '../shared/net/address.js';
import { unmapIpv4 } from '../shared/net/ip-bytes.js';
import { isIpLiteral } from '../shared/signal/fields.js';
import { StrikeCounter, TokenBucket } from '../shared/rate-limit.js';
import type { RelayMember, WsDelivery } from './relay.js';
import { prepare, type HubError, type HubMember, type PreparedFrame } from './room-hub.js';

import { type SessionContext, type SessionOrigin } from './session-context.js';
import { CLOSE_INTERNAL_ERROR, CLOSE_POLICY, CLOSE_PROTOCOL_ERROR } from '../shared/signal/close-codes.js';

/** How long a client gets to answer our close frame before the socket is cut. */
const CLOSE_GRACE_MS = 1000;
/** Random payload of each ping: only a client that read the ping can echo it in its pong. */
const PING_NONCE_BYTES = 8;

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

export function digestToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class Session implements HubMember, RelayMember {
  readonly id = nanoid();
  readonly rooms = new Set<string>();
  /** What this connection's join proofs must sign (welcome tells it). */
  private readonly nonce = randomBytes(JOIN_NONCE_BYTES).toString('base64url');
  /**
   * Set by the pong to our latest ping, cleared by each ping round. A pong comes after all that
   * was queued before the ping, so it proves the client reads; frames it writes prove nothing.
   */
  alive = true;
  private pingNonce: Buffer | undefined;
  private welcomed = false;
  private closing = false;
  private closeReason: string | undefined;
  private lastRateLimitReply = -Infinity;
  private lastUnreachableReply = -Infinity;
  private readonly bucket: TokenBucket;
  /** Bytes of relayed packets this connection may send (binary frames). */
  private readonly relayBucket: TokenBucket;
  /** Bytes this connection's announcements may make us send to other members. */
  private readonly fanoutBucket: TokenBucket;
  private readonly strikes: StrikeCounter;
  private helloTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;

  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly origin: { host: string; subnet: string };
  private readonly addressKey: string;
  /** Where its UDP relay binding last was: proven by our challenge, and the address its WireGuard uses. */
  private udpAddress: string | undefined;

  constructor(
    private readonly ws: WebSocket,
    origin: SessionOrigin,
    private readonly ctx: SessionContext,
    onClosed: (session: Session, reason: string) => void,
  ) {
    this.remoteAddress = origin.address;
    this.remotePort = origin.port;
    this.addressKey = origin.key;
    this.origin = { host: origin.key, subnet: origin.subnet };
    const now = Date.now();
    this.bucket = new TokenBucket(ctx.limits.messageRate, ctx.limits.messageBurst, now);
    this.relayBucket = new TokenBucket(ctx.limits.relayBytesPerSecond, ctx.limits.relayBurstBytes, now);
    this.fanoutBucket = new TokenBucket(ctx.limits.fanoutBytesPerSecond, ctx.limits.fanoutBurstBytes, now);
    this.strikes = new StrikeCounter(ctx.limits.maxStrikes, ctx.limits.strikeForgiveMs, now);
    this.helloTimer = setTimeout(() => this.close('hello_timeout', CLOSE_POLICY, 'hello timeout'), ctx.limits.helloTimeoutMs);
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', (data: Buffer) => {
      if (this.pingNonce && data.equals(this.pingNonce)) this.alive = true;
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

  /** The IP its rooms hear we see it at: its UDP binding's (a carrier-grade NAT may send TCP from another), else its connection's. */
  get seen(): string | undefined {
    const ip = this.udpAddress ?? this.remoteAddress;
    return isIpLiteral(ip) ? ip : undefined;
  }

  relayBound(address: string): void {
    const before = this.seen;
    this.udpAddress = unmapIpv4(address);
    if (this.seen === before || this.closing) return;
    // Charged like an announcement: a member moving its binding about must not buy free fan-out.
    this.ctx.hub.reseen(this, (bytes) => this.fanoutBucket.take(Date.now(), bytes));
  }

  /** Bytes waiting to go to this client: ws's queue and the socket's, which hold all we sent. */
  get queuedBytes(): number {
    return this.ws.bufferedAmount;
  }

  deliver(frame: PreparedFrame): void {
    if (this.ws.readyState !== WebSocket.OPEN || this.closing) return;
    if (this.queuedBytes + frame.bytes.length > this.ctx.limits.sendBufferBytes) {
      // Never hold more than the bound for a client that does not read: it goes instead.
      this.close('slow_reader');
      return;
    }
    this.ws.send(frame.bytes, { binary: false });
    this.ctx.metrics.framesOut.inc(frame.type);
  }

  /**
   * A relayed packet from member `from`. Relayed packets may be lost like any datagram, so a
   * client that reads slowly loses them rather than its connection; they stop at half the send
   * buffer, which keeps room for signalling, whose overflow would close the connection.
   */
  deliverRelay(from: string, payload: Buffer): WsDelivery {
    if (!this.welcomed || this.closing || this.ws.readyState !== WebSocket.OPEN) return 'closed';
    if (this.ws.bufferedAmount > this.ctx.limits.sendBufferBytes / 2) return 'congested';
    this.ws.send(encodeWsFrame(from, payload), { binary: true });
    return 'sent';
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

  /**
   * One round of the idle check, on a timer: drop a client that did not answer the last ping or
   * whose queue is still over the bound (nothing else may come to trigger the check on send),
   * else ping again with a fresh nonce.
   */
  pingRound(): void {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.alive) {
      this.close('idle_timeout');
      return;
    }
    if (this.queuedBytes > this.ctx.limits.sendBufferBytes) {
      this.close('slow_reader');
      return;
    }
    this.alive = false;
    this.pingNonce = randomBytes(PING_NONCE_BYTES);
    this.ws.ping(this.pingNonce);
  }

  private sendError(code: ErrorCode, message: string, ref?: string, member?: string): void {
    this.ctx.metrics.rejectedFrames.inc(code);
    this.deliver(prepare({ type: 'error', code, message, ...(ref === undefined ? {} : { ref }), ...(member === undefined ? {} : { member }) }));
  }

  /** A malformed frame: reply, and close after too many in a short time. */
  private offence(code: ErrorCode, message: string, ref?: string): void {
    this.sendError(code, message, ref);
    if (this.strikes.add(Date.now())) this.close('abuse', CLOSE_POLICY, 'too many bad frames');
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    const now = Date.now();
    if (isBinary && this.welcomed && this.ctx.relay?.wsRelay) {
      // Relayed WireGuard traffic runs at thousands of frames per second: its own byte budget,
      // not the JSON frame budgets.
      this.guarded(() => this.relayFrame(toBuffer(data), now));
      return;
    }
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
    this.guarded(() => this.handleFrame(data, isBinary));
  }

  private guarded(handle: () => void): void {
    try {
      handle();
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

  /** A binary frame for the WebSocket relay: destination id, then a WireGuard message. */
  private relayFrame(bytes: Buffer, now: number): void {
    const relay = this.ctx.relay!;
    if (!this.relayBucket.take(now, bytes.length)) {
      // Dropped like an overflowing queue drops; bursts are normal, so no strike.
      this.ctx.metrics.relayDropped.inc('ws_rate_limited');
      return;
    }
    const frame = decodeWsFrame(bytes);
    if (!frame) {
      // No agent of ours sends these: counted, and a strike, but no reply to amplify.
      this.ctx.metrics.relayDropped.inc('ws_malformed');
      if (this.strikes.add(now)) this.close('abuse', CLOSE_POLICY, 'too many bad frames');
      return;
    }
    if (relay.forward(this.id, frame.id, frame.payload, now, this.addressKey) !== 'unreachable') return;
    // Tell the sender, so it can move the member to another path; once a second at most.
    if (now - this.lastUnreachableReply < 1000) return;
    this.lastUnreachableReply = now;
    this.sendError('NO_SUCH_MEMBER', `member ${frame.id} is not reachable through the relay`, undefined, frame.id);
  }

  private handleFrame(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      const why = this.ctx.relay?.wsRelay ? 'binary frames (the relay) come after hello' : 'this server does not relay over WebSocket';
      this.offence('BINARY_UNSUPPORTED', why);
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

  /** What welcome tells about STUN and the relay. */
  private relayWelcome(): { stunPort?: number; relayPort?: number; relayToken?: string; wsRelay?: boolean } {
    const { stunPort, relay } = this.ctx;
    const udp = relay?.udp;
    return {
      ...(stunPort !== undefined ? { stunPort } : {}),
      ...(udp ? { relayPort: udp.port, relayToken: relay!.tokenFor(this.id).toString('base64url') } : {}),
      ...(relay?.wsRelay ? { wsRelay: true } : {}),
    };
  }

  private tokenMatches(token: string | undefined): boolean {
    const expected = this.ctx.tokenDigest;
    if (!expected) return true;
    return token !== undefined && timingSafeEqual(digestToken(token), expected);
  }

  /**
   * Charges an announcement's fan-out (its size times the room's members, which for a join is
   * also about what the members list sends back) to this connection; false, and an error, when
   * over budget. Small frames can otherwise make the server send a hundred times their size.
   */
  private fanout(room: string, announce: string, ref: string | undefined): boolean {
    const cost = announce.length * Math.max(1, this.ctx.hub.memberCount(room));
    if (this.fanoutBucket.take(Date.now(), cost)) return true;
    this.sendError('RATE_LIMITED', 'announcements to this room exceed your fan-out budget; dropped', ref);
    return false;
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
          nonce: this.nonce,
          yourAddress: formatEndpoint(endpointFromRinfo({ address: this.remoteAddress, port: this.remotePort })),
          ...this.relayWelcome(),
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
        // Only a holder of the room secret can sign our nonce with the key the room id hashes.
        if (!verifyJoin(msg.room, this.nonce, msg.key, msg.proof)) {
          this.offence('BAD_PROOF', 'join key or proof does not match the room and this connection', msg.ref);
          return;
        }
        if (!this.fanout(msg.room, msg.announce, msg.ref)) return;
        error = this.ctx.hub.join(this, msg.room, msg.announce, msg.ref);
        break;
      case 'leave':
        error = this.ctx.hub.leave(this, msg.room);
        break;
      case 'update':
        if (!this.fanout(msg.room, msg.announce, msg.ref)) return;
        error = this.ctx.hub.update(this, msg.room, msg.announce);
        break;
      case 'send':
        error = this.ctx.hub.send(this, msg.room, msg.to, msg.data);
        break;
    }
    if (error) this.sendError(error.code, error.message, msg.ref);
  }
}
