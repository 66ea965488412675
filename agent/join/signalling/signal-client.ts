// The agent's connection to the signalling server: hello, then whatever the agent sends (join,
// update, send); every server frame is validated before the agent sees it. When the connection
// drops it reconnects with exponential backoff and jitter, and the agent re-announces in its
// welcome handler. Nothing here touches tunnels: a missing server only delays new peers.
import WebSocket from 'ws';
import { PROTOCOL_VERSION, encodeMessage, parseServerMessage, type ClientMessage, type ServerMessage, type WelcomeMessage } from '../../../shared/signal/index.js';
import type { Logger } from '../../../shared/log.js';
import { backoffDelay, DEFAULT_RECONNECT_BACKOFF, type BackoffPolicy } from './backoff.js';

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

export interface SignalHandlers {
  /** Greeted by a server: (re)join rooms now. */
  welcome(w: WelcomeMessage): void;
  /** Every valid frame after welcome. */
  message(m: ServerMessage): void;
  /** A binary frame (the WebSocket packet relay) after welcome. */
  binary?(data: Buffer): void;
  /** The connection ended; the next attempt starts in `retryInMs`. */
  disconnected?(reason: string, retryInMs: number): void;
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
    try {
      ws = new WebSocket(this.o.url, { handshakeTimeout: 10_000, perMessageDeflate: false, maxPayload: this.o.maxFrameBytes ?? 1 << 20 });
    } catch (e) {
      // A URL ws refuses (bad scheme) would fail every time: say so, keep trying with backoff.
      this.scheduleRetry(`cannot connect to ${this.o.url}: ${(e as Error).message}`, false);
      return;
    }
    this.ws = ws;
    let reason = 'connection closed';
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
      reason = `server answered HTTP ${res.statusCode}`;
      ws.terminate();
    });
    ws.on('error', (e: Error) => {
      reason = e.message;
    });
    ws.on('close', (code: number, why: Buffer) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      const text = why.toString('utf8');
      this.scheduleRetry(code && code !== 1006 ? `closed by server (${code}${text ? ` ${text}` : ''})` : reason, this.stats.welcomes > welcomesBefore);
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
      this.stats.welcomes++;
      this.startKeepalive();
      this.handlers?.welcome(m);
      return;
    }
    if (m.type === 'error' && !this.connected) {
      this.o.log.error('the signal server refused us', { code: m.code, error: m.message });
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

  private scheduleRetry(reason: string, wasConnected: boolean): void {
    clearInterval(this.keepaliveTimer);
    this.memberId = undefined;
    if (this.closed) return;
    const delay = backoffDelay(this.attempt++, this.backoff, this.o.random);
    this.o.log.info(wasConnected ? 'signal server connection lost; reconnecting' : 'cannot reach the signal server; retrying', { reason, retryInMs: delay });
    this.handlers?.disconnected?.(reason, delay);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
