// What one connection may hold queued at the server, with a stand-in for the socket so the queue
// can be set exactly (a real one hides it behind kernel buffers of unknown size).
import { EventEmitter } from 'node:events';
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import { DEFAULT_LIMITS } from '../config.js';
import { createLogger } from '../../shared/log.js';
import { Metrics } from '../metrics.js';
import { KeyedRateLimiter } from '../../shared/rate-limit.js';
import { prepare, RoomHub } from '../room-hub.js';
import { Session } from '../session.js';
import type { SessionContext } from '../session-context.js';

const BOUND = 64 * 1024;

class FakeSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  sent = 0;
  pings: Buffer[] = [];
  closedWith: number | undefined;
  send(): void {
    this.sent++;
  }
  ping(data: Buffer): void {
    this.pings.push(data);
  }
  close(code: number): void {
    this.closedWith = code;
  }
  terminate(): void {
    this.closedWith = -1;
  }
}

function session(t: Test) {
  const limits = { ...DEFAULT_LIMITS, sendBufferBytes: BOUND };
  const ctx: SessionContext = {
    hub: new RoomHub(limits),
    metrics: new Metrics({ connectedAgents: () => 0, rooms: () => 0, members: () => 0 }),
    limits,
    log: createLogger({ level: 'silent' }),
    serverId: 'test',
    tokenDigest: undefined,
    addressFrames: new KeyedRateLimiter(1000, 1000),
    stunPort: undefined,
    relay: undefined,
  };
  const ws = new FakeSocket();
  const reasons: string[] = [];
  const s = new Session(ws as unknown as WebSocket, { address: '192.0.2.1', port: 1, key: '192.0.2.1/32', subnet: '192.0.2.0/24' }, ctx, (_s, why) => reasons.push(why));
  t.teardown(() => ws.emit('close'));
  return { s, ws };
}

const frame = prepare({ type: 'pong' });

t.test('a send that would take the queue past the bound closes the connection instead', async (t) => {
  const { s, ws } = session(t);
  ws.bufferedAmount = BOUND - 2;
  s.deliver(frame);
  t.equal(ws.sent, 0, 'not queued past the bound');
  t.not(ws.closedWith, undefined, 'closed');
});

t.test('a queue that stays over the bound is closed by the timer, with nothing more to send', async (t) => {
  const { s, ws } = session(t);
  s.pingRound();
  ws.emit('pong', ws.pings.at(-1));
  ws.bufferedAmount = BOUND + 1; // e.g. relayed frames queued while the client stopped reading
  s.pingRound();
  t.not(ws.closedWith, undefined, 'closed on the timer');
});

t.test('frames the client writes do not keep it alive; only the pong to our ping does', async (t) => {
  const { s, ws } = session(t);
  s.pingRound();
  ws.emit('message', Buffer.from('{"type":"ping"}'), false);
  ws.emit('pong', Buffer.from('unsolicited'));
  s.pingRound();
  t.not(ws.closedWith, undefined, 'writing without reading: closed as idle');

  const other = session(t);
  other.s.pingRound();
  other.ws.emit('pong', other.ws.pings.at(-1));
  other.s.pingRound();
  t.equal(other.ws.closedWith, undefined, 'a client that echoes our ping stays');
});
