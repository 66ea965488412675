// Hostile inputs, each with its specified outcome, while a well-behaved pair of clients in one
// room keeps being served promptly.
import t from 'tap';
import WebSocket from 'ws';
import type { SignalServerHandle } from '../index.js';
import { blob, joinProof, roomId, sleep, startTestServer, TestClient, waitFor } from './helpers.js';
import { clientFrame, connectTcp, rawWebSocket, textFrame, upgradeRequest, whenClosed } from './raw-ws.js';

/**
 * Bounds generous enough for a loaded 2-core CI machine, yet far below what a starved server
 * or a missing timer would produce (seconds, or never).
 */
const SERVED_MS = 250;
const TIMER_SLACK_MS = 2500;

const LIMITS = {
  pingIntervalMs: 300,
  handshakeTimeoutMs: 500,
  helloTimeoutMs: 500,
  maxStrikes: 10,
  messageRate: 20,
  messageBurst: 100,
  connectRatePerIp: 1000,
  connectBurstPerIp: 1000,
};

/** A member of `room` that another member keeps talking to; `served` measures a round trip. */
async function wellBehavedPair(server: SignalServerHandle) {
  const room = roomId();
  const good = await TestClient.join(server.url);
  const buddy = await TestClient.join(server.url);
  for (const c of [good, buddy]) {
    c.send({ type: 'join', room, announce: blob() });
    await c.next((m) => m.type === 'members');
  }
  let n = 0;
  const served = async (): Promise<number> => {
    const start = performance.now();
    const data = Buffer.from(`probe-${n++}`).toString('base64');
    buddy.send({ type: 'send', room, to: good.id, data });
    await good.next((m) => m.type === 'message' && m.data === data, 5000);
    await good.sync();
    return performance.now() - start;
  };
  return { room, good, buddy, served };
}

t.test('hostile inputs', async (t) => {
  const server = await startTestServer(LIMITS);
  const pair = await wellBehavedPair(server);
  t.teardown(async () => {
    pair.good.close();
    pair.buddy.close();
    await server.close();
  });
  const disconnects = (reason: string) => server.metrics().disconnects[reason] ?? 0;
  const rejected = (reason: string) => server.metrics().rejectedFrames[reason] ?? 0;

  t.afterEach(async () => {
    const rtt = await pair.served();
    t.ok(rtt < SERVED_MS, `well-behaved client still served (round trip ${rtt.toFixed(1)} ms)`);
  });

  t.test('oversized frame: closed with 1009', async (t) => {
    const c = await TestClient.join(server.url);
    c.send({ type: 'update', room: pair.room, announce: 'A'.repeat(20_000) });
    t.equal(await c.closed, 1009);
    await waitFor(() => disconnects('frame_too_large') === 1);
    t.equal(rejected('frame_too_large'), 1);
  });

  t.test('oversized value inside a normal frame: TOO_LARGE error, connection kept', async (t) => {
    const c = await TestClient.join(server.url);
    t.teardown(() => c.close());
    c.send({ type: 'join', room: roomId(), announce: Buffer.alloc(5000).toString('base64') });
    const err = await c.next((m) => m.type === 'error');
    t.equal(err.type === 'error' && err.code, 'TOO_LARGE');
    await c.sync();
  });

  t.test('invalid UTF-8 in a text frame: closed with 1007', async (t) => {
    const c = await TestClient.join(server.url);
    c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    t.equal(await c.closed, 1007);
    await waitFor(() => disconnects('invalid_utf8') === 1);
  });

  t.test('non-JSON, wrong types, unknown types, binary: error codes, connection kept', async (t) => {
    const c = await TestClient.join(server.url);
    t.teardown(() => c.close());
    const cases: [unknown, string][] = [
      ['this is not json', 'BAD_JSON'],
      ['[]', 'BAD_JSON'],
      [{ type: 'join', room: 42, announce: '' }, 'BAD_FIELD'],
      [{ type: 'send', room: pair.room, to: ['x'], data: '' }, 'BAD_FIELD'],
      [{ type: 'hello', v: 2 }, 'BAD_STATE'],
      [{ type: 'launch-missiles' }, 'UNKNOWN_TYPE'],
    ];
    for (const [frame, code] of cases) {
      c.send(frame);
      const err = await c.next((m) => m.type === 'error' && m.code === code);
      t.ok(err, code);
    }
    // The WebSocket relay is on by default: binary garbage is a malformed relay frame, counted
    // and dropped without a reply.
    const malformed = () => server.metrics().relayDropped.ws_malformed ?? 0;
    const before = malformed();
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.sync();
    t.equal(malformed(), before + 1, 'binary garbage counted as a malformed relay frame');
    t.equal(c.ofType('error').filter((e) => e.code === 'BINARY_UNSUPPORTED').length, 0);
    t.equal(c.closeCode, undefined, 'still connected after a few mistakes');
  });

  t.test('prototype-pollution keys are refused and harmless', async (t) => {
    const c = await TestClient.join(server.url);
    t.teardown(() => c.close());
    const room = roomId();
    c.send(`{"type":"join","room":"${room}","announce":"","__proto__":{"polluted":1,"type":"x"}}`);
    await c.next((m) => m.type === 'error' && m.code === 'BAD_FIELD');
    c.send('{"type":"ping","constructor":{"prototype":{"polluted":1}}}');
    await c.next((m) => m.type === 'error' && m.code === 'BAD_FIELD' && m.message.includes('constructor'));
    c.send({ type: 'join', room: '__proto__', announce: '' });
    await c.next((m) => m.type === 'error' && m.message.includes('room'));
    t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched in the server process');
    c.send({ type: 'join', room, announce: '' });
    const members = await c.next((m) => m.type === 'members');
    t.strictSame(members, { type: 'members', room, members: [] }, 'the room refused above was never created');
  });

  t.test('frames before hello: HELLO_REQUIRED', async (t) => {
    const c = await TestClient.connect(server.url);
    t.teardown(() => c.close());
    c.send({ type: 'join', room: roomId(), announce: '' });
    await c.next((m) => m.type === 'error' && m.code === 'HELLO_REQUIRED');
  });

  t.test('repeated bad frames: closed with 1008', async (t) => {
    const c = await TestClient.join(server.url);
    for (let i = 0; i < 12; i++) c.send('{');
    t.equal(await c.closed, 1008);
    t.equal(c.ofType('error').length, LIMITS.maxStrikes + 1, 'one error per bad frame until the close');
    await waitFor(() => disconnects('abuse') === 1);
  });

  t.test('10,000 frames per second: dropped, bounded fan-out, closed with 1008', async (t) => {
    const flooder = await TestClient.join(server.url);
    flooder.send({ type: 'join', room: pair.room, announce: blob() });
    await flooder.next((m) => m.type === 'members');
    const updatesBefore = pair.good.ofType('member-update').length;
    const rtts: number[] = [];
    let flooding = true;
    const probe = (async () => {
      while (flooding) {
        rtts.push(await pair.served());
        await sleep(20);
      }
    })();
    const start = performance.now();
    for (let burst = 0; burst < 10 && flooder.ws.readyState === WebSocket.OPEN; burst++) {
      for (let i = 0; i < 1000; i++) flooder.send({ type: 'update', room: pair.room, announce: 'AAAA' });
      await sleep(100);
    }
    const code = await flooder.closed;
    const elapsed = performance.now() - start;
    flooding = false;
    await probe;
    t.equal(code, 1008, `flooder closed after ${elapsed.toFixed(0)} ms`);
    const fannedOut = pair.good.ofType('member-update').length - updatesBefore;
    const budget = LIMITS.messageBurst + Math.ceil((LIMITS.messageRate * elapsed) / 1000);
    t.ok(fannedOut <= budget, `room saw ${fannedOut} updates, budget ${budget}`);
    t.ok(flooder.ofType('error').filter((e) => e.code === 'RATE_LIMITED').length >= 1, 'flooder told it is rate limited');
    t.ok(rejected('RATE_LIMITED') > 0);
    t.ok(Math.max(...rtts) < SERVED_MS, `well-behaved client's worst round trip during the flood: ${Math.max(...rtts).toFixed(1)} ms`);
  });

  t.test('TCP connection that sends nothing: cut after the handshake timeout', async (t) => {
    const before = disconnects('handshake_timeout');
    const s = await connectTcp(server.http.port);
    const took = await whenClosed(s);
    t.ok(took >= 400 && took < LIMITS.handshakeTimeoutMs + TIMER_SLACK_MS, `closed after ${took.toFixed(0)} ms`);
    t.equal(disconnects('handshake_timeout'), before + 1);
  });

  t.test('slowloris upgrade (one header line every 100 ms): cut after the handshake timeout', async (t) => {
    const before = disconnects('handshake_timeout');
    const s = await connectTcp(server.http.port);
    const lines = upgradeRequest().split('\r\n').slice(0, -2);
    const closed = whenClosed(s);
    let i = 0;
    const drip = setInterval(() => {
      if (!s.destroyed) s.write(`${lines[i++ % lines.length]}\r\n`);
    }, 100);
    const took = await closed;
    clearInterval(drip);
    t.ok(took >= 400 && took < LIMITS.handshakeTimeoutMs + TIMER_SLACK_MS, `closed after ${took.toFixed(0)} ms although bytes kept coming`);
    t.equal(disconnects('handshake_timeout'), before + 1);
  });

  t.test('WebSocket that never says hello: closed with 1008 after the hello timeout', async (t) => {
    const c = await TestClient.connect(server.url);
    const start = performance.now();
    t.equal(await c.closed, 1008);
    const took = performance.now() - start;
    t.ok(took >= 400 && took < LIMITS.helloTimeoutMs + TIMER_SLACK_MS, `after ${took.toFixed(0)} ms`);
    // The client sees the TCP close and the server its own close event in either order.
    await waitFor(() => disconnects('hello_timeout') === 1, 2000, 'hello_timeout counted');
    t.equal(disconnects('hello_timeout'), 1);
  });

  t.test('half-open WebSocket that stops reading and never answers pings: dropped as idle', async (t) => {
    const s = await rawWebSocket(server.http.port);
    s.write(textFrame('{"type":"hello","v":2}'));
    await sleep(50);
    const closed = whenClosed(s);
    s.pause(); // stop reading: pings pile up unanswered in the kernel
    const start = performance.now();
    // A paused socket cannot notice the server's FIN, so watch the server's side of it.
    await waitFor(() => disconnects('idle_timeout') === 1, 5000, 'idle_timeout counted');
    const took = performance.now() - start;
    t.ok(took < 2 * LIMITS.pingIntervalMs + TIMER_SLACK_MS, `dropped after ${took.toFixed(0)} ms (ping interval ${LIMITS.pingIntervalMs} ms)`);
    s.resume(); // now the FIN (or reset) the server sent is read
    await closed;
    t.equal(server.metrics().connectedAgents, 2, 'only the well-behaved pair is left');
  });

  t.test('a WebSocket that keeps writing but never reads: its frames do not keep it alive', async (t) => {
    const s = await rawWebSocket(server.http.port);
    s.write(textFrame('{"type":"hello","v":2}'));
    await sleep(50);
    s.pause(); // never reads again: our pings (and all else) pile up unread
    const OPCODE_PONG = 0xa;
    const chatter = setInterval(() => {
      // JSON pings and unsolicited pongs: proof of writing, not of reading.
      s.write(textFrame('{"type":"ping"}'));
      s.write(clientFrame(OPCODE_PONG, Buffer.from('guess')));
    }, 50);
    t.teardown(() => clearInterval(chatter));
    const start = performance.now();
    await waitFor(() => disconnects('idle_timeout') === 2, 2 * LIMITS.pingIntervalMs + TIMER_SLACK_MS, 'second idle_timeout counted');
    clearInterval(chatter);
    t.ok(performance.now() - start < 2 * LIMITS.pingIntervalMs + TIMER_SLACK_MS, 'dropped within two ping rounds');
    s.destroy();
  });

  t.test('upgrade on another path: 404, no WebSocket', async (t) => {
    const s = await connectTcp(server.http.port);
    s.write(upgradeRequest('/not-ws'));
    const head = await new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
    t.match(head, /^HTTP\/1\.1 404/);
    s.destroy();
    t.equal(server.metrics().refusedConnections.not_found, 1);
  });

  t.test('the process is still healthy', async (t) => {
    const res = await fetch(`${server.httpUrl}/healthz`);
    t.equal(res.status, 200);
  });
});

t.test('a client that stops reading is dropped once its send buffer passes the limit', async (t) => {
  const server = await startTestServer({ messageRate: 100_000, messageBurst: 100_000, sendBufferBytes: 64 * 1024 });
  const pair = await wellBehavedPair(server);
  const sender = await TestClient.join(server.url);
  t.teardown(async () => {
    [pair.good, pair.buddy, sender].forEach((c) => c.close());
    await server.close();
  });
  const room = roomId();
  sender.send({ type: 'join', room, announce: '' });
  await sender.next((m) => m.type === 'members');
  const victim = await rawWebSocket(server.http.port);
  victim.write(textFrame('{"type":"hello","v":2}'));
  // The join proof signs welcome's nonce: read that much, then never again.
  const welcome = await new Promise<string>((resolve) => victim.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
  const nonce = /"nonce":"([A-Za-z0-9_-]+)"/.exec(welcome)![1]!;
  victim.write(textFrame(JSON.stringify({ type: 'join', room, announce: '', ...joinProof(room, nonce) })));
  const joined = (await sender.next((m) => m.type === 'member-joined')) as { id: string };
  victim.pause();
  const closed = whenClosed(victim);
  const data = Buffer.alloc(4096, 1).toString('base64');
  let sent = 0;
  while (server.metrics().disconnects.slow_reader !== 1 && sent < 20_000) {
    for (let i = 0; i < 200; i++) sender.send({ type: 'send', room, to: joined.id, data });
    sent += 200;
    await sleep(5);
  }
  t.equal(server.metrics().disconnects.slow_reader, 1, `slow reader cut after ${sent} messages of 4 KiB were aimed at it`);
  // The paused victim only sees the server's close once it reads past what was queued.
  victim.resume();
  await closed;
  const rtt = await pair.served();
  t.ok(rtt < SERVED_MS, `others unaffected (${rtt.toFixed(1)} ms)`);
});

t.test('per-address connection cap and connection rate, and the server-wide cap', async (t) => {
  const server = await startTestServer({ maxConnectionsPerIp: 5, connectBurstPerIp: 8, connectRatePerIp: 1 });
  t.teardown(() => server.close());
  const from = (localAddress: string) => TestClient.connect(server.url, { localAddress });
  const five = await Promise.all([1, 2, 3, 4, 5].map(() => from('127.0.0.9')));
  await t.rejects(from('127.0.0.9'), /HTTP 429/, 'sixth connection from one address refused');
  const elsewhere = await from('127.0.0.10');
  t.pass('another address is unaffected');
  five.forEach((c) => c.close());
  await Promise.all(five.map((c) => c.closed));
  await waitFor(() => server.metrics().connectedAgents === 1);
  const three = await Promise.all([1, 2, 3].map(() => from('127.0.0.9')));
  await t.rejects(from('127.0.0.9'), /HTTP 429/, 'burst of 8 new connections used up');
  t.equal(server.metrics().refusedConnections.ip_connection_cap, 1);
  t.equal(server.metrics().refusedConnections.ip_connect_rate, 1);
  [...three, elsewhere].forEach((c) => c.close());

  const small = await startTestServer({ maxConnections: 2 });
  t.teardown(() => small.close());
  const two = await Promise.all([1, 2].map(() => TestClient.connect(small.url)));
  await t.rejects(TestClient.connect(small.url), /HTTP 503/, 'server-wide cap');
  two.forEach((c) => c.close());
});
