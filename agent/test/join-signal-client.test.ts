// The agent's signalling client against a real server in this process: it reconnects with
// growing, jittered delays while the server is away, and re-announces itself when it is back.
import t from 'tap';
import { backoffDelay } from '../join/signalling/backoff.js';
import { SignalClient } from '../join/signalling/signal-client.js';
import { createLogger } from '../../shared/log.js';
import type { ServerMessage } from '../../shared/signal/protocol.js';
import { blob, joinProof, roomId, startTestServer, TestClient, waitFor } from '../../signal-server/test/helpers.js';

const quiet = createLogger({ level: 'error', write: () => undefined });

t.test('backoff: exponential, capped, half of it jitter', async (t) => {
  const p = { firstMs: 100, maxMs: 1_000 };
  t.strictSame([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, p, () => 1)), [100, 200, 400, 800, 1000, 1000], 'ceilings');
  t.strictSame([0, 1, 2, 3, 4].map((a) => backoffDelay(a, p, () => 0)), [50, 100, 200, 400, 500], 'floors: half the ceiling');
  t.equal(backoffDelay(1e6, p, () => 1), 1000, 'huge attempt counts do not overflow');
});

t.test('reconnects with backoff while the server is away, and joins again when it is back', async (t) => {
  const room = roomId();
  let server = await startTestServer();
  const port = server.http.port;
  t.teardown(() => server.close());
  const welcomes: string[] = [];
  const delays: number[] = [];
  const frames: ServerMessage[] = [];
  const client = new SignalClient({ url: server.url, log: quiet, backoff: { firstMs: 40, maxMs: 320 }, random: () => 1 });
  t.teardown(() => client.close());
  client.start({
    welcome: (w) => {
      welcomes.push(w.serverId);
      client.send({ type: 'join', room, announce: blob(), ...joinProof(room, w.nonce), ref: 'j' });
    },
    message: (m) => frames.push(m),
    disconnected: (_reason, retryInMs) => delays.push(retryInMs),
  });
  await waitFor(() => frames.some((m) => m.type === 'members'), 5000, 'joined');
  t.equal(welcomes.length, 1);
  t.ok(client.connected);

  const watcher = await TestClient.join(server.url);
  watcher.send({ type: 'join', room, announce: blob() });
  await watcher.next((m) => m.type === 'members');

  const downAt = Date.now();
  await server.close();
  await waitFor(() => delays.length >= 5, 5000, 'five failed attempts');
  t.notOk(client.connected, 'not connected while the server is away');
  t.notOk(client.send({ type: 'ping' }), 'sends are refused, not queued');
  t.strictSame(delays.slice(0, 5), [40, 80, 160, 320, 320], 'delays double up to the cap');
  t.ok(Date.now() - downAt >= 40 + 80 + 160 + 320 - 20, 'and are really waited');
  const attemptsWhileDown = client.stats.attempts;

  server = await startTestServer({ listenPort: port });
  const watcher2 = await TestClient.join(server.url);
  watcher2.send({ type: 'join', room, announce: blob() });
  await watcher2.next((m) => m.type === 'members');
  const rejoined = await watcher2.next((m) => m.type === 'member-joined', 2000);
  t.ok(rejoined, 'the client is back in the room within one capped delay');
  t.equal(welcomes.length, 2);
  t.not(welcomes[1], welcomes[0], 'a new server instance');
  t.ok(client.stats.attempts > attemptsWhileDown);
  watcher.close();
  watcher2.close();

  // A connection lost after a welcome starts again from the first delay.
  const before = delays.length;
  await server.close();
  await waitFor(() => delays.length > before, 3000, 'disconnect noticed');
  t.equal(delays[before], 40, 'backoff resets after a successful connection');
});

t.test('hostile server frames are counted and ignored', async (t) => {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  t.teardown(() => wss.close());
  wss.on('connection', (ws) => {
    ws.on('message', () => {
      ws.send('not json');
      ws.send(JSON.stringify({ type: 'welcome', v: 2, serverId: 'srv', id: 'me', nonce: Buffer.alloc(32).toString('base64url') }));
      ws.send(JSON.stringify({ type: 'members', room: 'x', members: [] }));
      ws.send(JSON.stringify({ type: 'message', room: 'a'.repeat(64), from: 'x', data: '!!' }));
      ws.send(Buffer.from([1, 2, 3]));
      ws.send(JSON.stringify({ type: 'pong', ref: 'ok' }));
    });
  });
  const address = wss.address() as { port: number };
  const seen: ServerMessage[] = [];
  const client = new SignalClient({ url: `ws://127.0.0.1:${address.port}/ws`, log: quiet });
  t.teardown(() => client.close());
  client.start({ welcome: () => undefined, message: (m) => seen.push(m) });
  await waitFor(() => seen.some((m) => m.type === 'pong'), 3000, 'the valid pong');
  t.equal(client.stats.invalidFrames, 3, 'three invalid frames counted');
  t.strictSame(seen.map((m) => m.type), ['pong'], 'only the valid frame reached the agent');
});
