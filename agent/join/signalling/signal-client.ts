// The agent's connection to the signalling server: hello, then whatever the agent sends (join,
// update, send); every server frame is validated before the agent sees it. When the connection
// drops it reconnects with exponential backoff and jitter, and the agent re-announces in its
// welcome handler. Nothing here touches tunnels: a missing server only delays new peers. Why a
// connection failed is logged once at error level (connect-failure.ts), repeats at debug level.
import WebSocket from 'ws';
import { PROTOCOL_VERSION, encodeMessage, parseServerMessage, type ClientMessage, type ServerMessage, type WelcomeMessage } from '../../../shared/signal/index.js';
import type { Logger } from '../../../shared/log.js';
import { backoffDelay, DEFAULT_RECONNECT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { classifyClose, classifyError, classifyServerError, classifyStatus, type ConnectFailure } from './connect-failure.js';

export interface SignalClientOptions {
  url: string;
  token?: string;
  log: Logger;
  backoff?: BackoffPolicy;
  random?: () => number;
  /** We ping the server this often; a connection silent for twice as long is dropped. */
  keepaliveMs?: number;
  /** Largest frame accepted from the server. */
  maxFrameBytes?: number;
}

const MAX_BINARY_BACKLOG = 512 * 1024;
const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface SignalHandlers {
  /** Greeted by a server: (re)join rooms now. */
  welcome(w: WelcomeMessage): void;
  /** Every valid frame after welcome. */
  message(m: ServerMessage): void;
  /** A binary frame (the WebSocket packet relay) after welcome. */
  binary?(data: Buffer): void;
  /** The connection ended; the next attempt starts in `retryInMs`. */
  disconnected?(reason: string, retryInMs: number, failure?: ConnectFailure): void;
}

export class SignalClient {
  /** Our member id on the current connection, while welcomed. */
  memberId: string | undefined;
  serverId: string | undefined;
  /** Connections that got a welcome, and frames the server sent that did not validate. */
  readonly stats = { welcomes: 0, attempts: 0, invalidFrames: 0 };
  private ws: WebSocket | undefined;
  private handlers: SignalHandlers | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private lastFrameAt = 0;
  private closed = false;
  /** Why connecting failed on this attempt (the first cause seen wins), and the cause last logged. */
  private failure: ConnectFailure | undefined;
  private loggedCause: string | undefined;
  private readonly backoff: BackoffPolicy;
  private readonly keepaliveMs: number;

  constructor(private readonly o: SignalClientOptions) {
    this.backoff = o.backoff ?? DEFAULT_RECONNECT_BACKOFF;
    this.keepaliveMs = o.keepaliveMs ?? 15_000;
  }

  get connected(): boolean {
    return this.memberId !== undefined;
  }

  start(handlers: SignalHandlers): void {
    this.handlers = handlers;
    this.connect();
  }

  /** Sends when greeted; false otherwise (the agent re-sends state after the next welcome). */
  send(message: ClientMessage): boolean {
    const ws = this.ws;
    if (!ws || !this.connected || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(encodeMessage(message));
    return true;
  }

  /**
   * Sends a binary relay frame when greeted. Relayed packets may be lost like any datagram: while
   * the socket has this much unsent, they are dropped instead of queued (TCP inside the tunnel
   * recovers; an unbounded queue would only add latency).
   */
  sendBinary(frame: Buffer): boolean {
    const ws = this.ws;
    if (!ws || !this.connected || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > MAX_BINARY_BACKLOG) return false;
    ws.send(frame, { binary: true });
    return true;
  }

  /**
   * Drops the connection and connects again soon: our addresses changed, and a TCP connection
   * from an address we no longer have would otherwise look alive until the keepalive gives up.
   */
  reconnect(why: string): void {
    if (this.closed || !this.ws) return;
    this.attempt = 0;
    this.o.log.info('reconnecting to the signal server', { why });
    this.ws.terminate();
  }

  /** Closes politely (what was sent still goes out), cutting the connection after a moment. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.keepaliveTimer);
    const ws = this.ws;
    this.ws = undefined;
    this.memberId = undefined;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN) {
      ws.close(1000, 'leaving');
      setTimeout(() => ws.terminate(), 500).unref();
    } else {
      ws.terminate();
    }
  }

  private connect(): void {
    if (this.closed) return;
    this.stats.attempts++;
    const welcomesBefore = this.stats.welcomes;
    let ws: WebSocket;
    let url: URL;
    this.failure = undefined;
    try {
      url = new URL(this.o.url);
      ws = new WebSocket(url, { handshakeTimeout: HANDSHAKE_TIMEOUT_MS, perMessageDeflate: false, maxPayload: this.o.maxFrameBytes ?? 1 << 20 });
    } catch (e) {
      // A URL ws refuses (bad scheme) would fail every time: say so, keep trying with backoff.
      this.scheduleRetry({ code: 'network_error', message: `cannot connect to ${this.o.url}: ${(e as Error).message}` }, false);
      return;
    }
    this.ws = ws;
    // The first cause wins: aborting the handshake makes ws report a generic error after it.
    const failed = (f: ConnectFailure) => (this.failure ??= f);
    ws.on('open', () => {
      this.lastFrameAt = Date.now();
      ws.send(encodeMessage(this.o.token === undefined ? { type: 'hello', v: PROTOCOL_VERSION } : { type: 'hello', v: PROTOCOL_VERSION, token: this.o.token }));
    });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      this.lastFrameAt = Date.now();
      if (isBinary) {
        if (this.connected) this.handlers?.binary?.(Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]));
        return;
      }
      this.onFrame(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'));
    });
    ws.on('pong', () => (this.lastFrameAt = Date.now()));
    ws.on('unexpected-response', (_req, res) => {
      failed(classifyStatus(res.statusCode ?? 0));
      res.resume();
      ws.terminate();
    });
    ws.on('error', (e: Error) => failed(classifyError(e, url)));
    ws.on('close', (code: number, why: Buffer) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      const wasConnected = this.stats.welcomes > welcomesBefore;
      const closedBy = classifyClose(code, why.toString('utf8'), wasConnected);
      const f = wasConnected ? closedBy : this.failure;
      this.scheduleRetry(f ?? closedBy ?? { code: 'network_error', message: wasConnected ? 'connection closed' : 'connection closed before the server greeted us' }, wasConnected);
    });
  }

  private onFrame(text: string): void {
    const parsed = parseServerMessage(text);
    if (!parsed.ok) {
      this.stats.invalidFrames++;
      this.o.log.debug('ignoring an invalid frame from the server', { code: parsed.code, error: parsed.message });
      return;
    }
    const m = parsed.message;
    if (m.type === 'welcome') {
      if (this.connected) return;
      this.memberId = m.id;
      this.serverId = m.serverId;
      this.attempt = 0;
      this.loggedCause = undefined;
      this.stats.welcomes++;
      this.startKeepalive();
      this.handlers?.welcome(m);
      return;
    }
    if (m.type === 'error' && !this.connected) {
      // Logged with the retry, once the server closes the connection.
      this.failure ??= classifyServerError(m.code, m.message);
      return;
    }
    if (this.connected) this.handlers?.message(m);
  }

  private startKeepalive(): void {
    clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = setInterval(() => {
      if (Date.now() - this.lastFrameAt > 2 * this.keepaliveMs) {
        this.o.log.warn('signal server silent; reconnecting');
        this.ws?.terminate();
        return;
      }
      this.send({ type: 'ping' });
    }, this.keepaliveMs);
    this.keepaliveTimer.unref?.();
  }

  private scheduleRetry(failure: ConnectFailure, wasConnected: boolean): void {
    clearInterval(this.keepaliveTimer);
    this.memberId = undefined;
    if (this.closed) return;
    const delay = backoffDelay(this.attempt++, this.backoff, this.o.random);
    const fields = { code: failure.code, server: this.o.url, retryInMs: delay };
    if (wasConnected) {
      this.o.log.info('signal server connection lost; reconnecting', { reason: failure.message, ...fields });
    } else {
      // A cause is news once; while it stays the same each retry is only debug detail.
      const cause = `${failure.code} ${failure.message}`;
      const msg = `cannot connect to the signal server: ${failure.message}`;
      if (cause === this.loggedCause) this.o.log.debug(msg, fields);
      else this.o.log.error(msg, fields);
      this.loggedCause = cause;
    }
    this.handlers?.disconnected?.(failure.message, delay, failure);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
