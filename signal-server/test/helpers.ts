// Test helpers: a small WebSocket test client speaking the signalling protocol, and a server
// started on loopback with quiet logs. Not a test file itself (no .test.ts suffix).
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { parseServerMessage, PROTOCOL_VERSION, type ServerMessage } from '../../shared/signal/index.js';
import { joinPublicKey, roomIdForKey, signJoin, type JoinProof } from '../../shared/signal/join-proof.js';
import { startSignalServer, type SignalServerHandle, type StartOptions } from '../index.js';
import { createLogger } from '../../shared/log.js';
import { Inbox } from './inbox.js';

/** Join seeds of the rooms made here, by id: TestClient signs its joins with them. */
const roomSeeds = new Map<string, Buffer>();

/** A new room, as agents make one from a secret: the id hashes the key its seed gives. */
export function roomId(): string {
  const seed = randomBytes(32);
  const id = roomIdForKey(joinPublicKey(seed));
  roomSeeds.set(id, seed);
  return id;
}

/** The key and proof a join to `room` (made by roomId) carries on a connection with `nonce`. */
export function joinProof(room: string, nonce: string): JoinProof {
  const seed = roomSeeds.get(room);
  if (!seed) throw new Error(`room ${room} was not made by roomId()`);
  return signJoin(room, seed, nonce);
}

export function blob(n = 16): string {
  return randomBytes(n).toString('base64');
}

export async function startTestServer(options: StartOptions = {}): Promise<SignalServerHandle> {
  return startSignalServer({
    listenHost: '127.0.0.1',
    listenPort: 0,
    stunPort: null,
    logger: createLogger({ level: process.env.SG_LOG === '1' ? 'debug' : 'silent' }),
    ...options,
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds, polling; fails after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export class TestClient {
  private readonly inbox = new Inbox<ServerMessage>('a message');
  private readonly binaryInbox = new Inbox<Buffer>('a binary frame');
  readonly received: ServerMessage[] = this.inbox.items;
  readonly invalid: string[] = [];
  /** Binary frames (the WebSocket relay), in order. */
  readonly binary: Buffer[] = this.binaryInbox.items;
  id = '';
  /** welcome's nonce: what this client's join proofs sign. */
  nonce = '';
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        this.binaryInbox.push(data);
        return;
      }
      const parsed = parseServerMessage(data.toString('utf8'));
      if (!parsed.ok) {
        this.invalid.push(data.toString('utf8'));
        return;
      }
      this.inbox.push(parsed.message);
    });
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
  }

  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return new TestClient(ws);
  }

  /** Connects and completes hello/welcome. */
  static async join(url: string, token?: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const c = await TestClient.connect(url, options);
    c.send(token === undefined ? { type: 'hello', v: PROTOCOL_VERSION } : { type: 'hello', v: PROTOCOL_VERSION, token });
    const welcome = await c.next((m) => m.type === 'welcome');
    if (welcome.type === 'welcome') {
      c.id = welcome.id;
      c.nonce = welcome.nonce;
    }
    return c;
  }

  /** Sends `message`; a join to a room made by roomId() without a proof gets a valid one added. */
  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(this.withProof(message)));
  }

  private withProof(message: unknown): unknown {
    if (typeof message !== 'object' || message === null) return message;
    const m = message as Record<string, unknown>;
    if (m.type !== 'join' || 'proof' in m || typeof m.room !== 'string' || !roomSeeds.has(m.room)) return message;
    return { ...m, ...joinProof(m.room, this.nonce) };
  }

  /** The first message (already received or future) matching `match`. */
  next(match: (m: ServerMessage) => boolean, timeoutMs = 5000): Promise<ServerMessage> {
    return this.inbox.next(match, timeoutMs);
  }

  /** The first binary frame (already received or future) matching `match`. */
  nextBinary(match: (b: Buffer) => boolean = () => true, timeoutMs = 5000): Promise<Buffer> {
    return this.binaryInbox.next(match, timeoutMs);
  }

  ofType<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.received.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }

  /** Round trip through the server: everything it sent us before the pong has arrived. */
  async sync(): Promise<void> {
    const ref = `sync-${Math.random().toString(36).slice(2)}`;
    this.send({ type: 'ping', ref });
    await this.next((m) => m.type === 'pong' && m.ref === ref);
  }

  close(): void {
    this.ws.close();
  }
}
