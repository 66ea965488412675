// Limits beyond one connection: the frame budget shared by one address, and a handler bug that
// must cost only the connection that triggered it.
import t from 'tap';
import { RoomHub } from '../room-hub.js';
import { blob, roomId, sleep, startTestServer, TestClient, waitFor } from './helpers.js';

t.test('connections from one address share a frame budget; other addresses do not notice', async (t) => {
  const server = await startTestServer({
    messageRate: 1000,
    messageBurst: 1000,
    addressMessageRate: 0.1, // one frame per 10 s: nothing refills while the test looks
    addressMessageBurst: 20,
  });
  t.teardown(() => server.close());
  const from = (localAddress: string) => TestClient.connect(server.url, { localAddress });
  const [a, b, other] = await Promise.all([from('127.0.0.9'), from('127.0.0.9'), from('127.0.0.10')]);
  t.teardown(() => [a, b, other].forEach((c) => c.close()));
  const start = performance.now();
  for (const c of [a, b, other]) {
    c.send({ type: 'hello', v: 2 });
    await c.next((m) => m.type === 'welcome');
  }
  // 2 hellos used 2 of the 20; a spends the rest and more.
  for (let i = 0; i < 40; i++) a.send({ type: 'ping', ref: `a${i}` });
  await a.next((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
  await sleep(50);
  const pongs = a.ofType('pong').length;
  const refilled = Math.ceil((performance.now() - start) / 10_000);
  t.ok(pongs >= 18 && pongs <= 18 + refilled, `a got ${pongs} pongs of 40 pings (budget 18 + ${refilled})`);

  b.send({ type: 'ping', ref: 'b0' });
  const err = await b.next((m) => m.type === 'error' || m.type === 'pong');
  t.same(err.type === 'error' && [err.code, err.message], ['RATE_LIMITED', 'too many frames from your address; dropped'], 'b, on the same address, is out of budget too');

  await other.sync();
  t.pass('a client on another address is served');
  t.ok((server.metrics().rejectedFrames.RATE_LIMITED_ADDRESS ?? 0) >= 20, 'counted as RATE_LIMITED_ADDRESS');
  t.equal(server.metrics().rejectedFrames.RATE_LIMITED, undefined, 'no connection went over its own budget');

  for (let i = 0; i < 50; i++) b.send({ type: 'ping' });
  await sleep(100);
  t.equal(b.closeCode, undefined, 'the shared budget running out is not held against one connection');
  t.equal(server.metrics().disconnects.abuse, undefined);
});

t.test('a bug while handling a frame closes that connection with 1011, nothing else', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const room = roomId();
  const [victim, bystander] = await Promise.all([TestClient.join(server.url), TestClient.join(server.url)]);
  t.teardown(() => [victim, bystander].forEach((c) => c.close()));
  for (const c of [victim, bystander]) {
    c.send({ type: 'join', room, announce: blob() });
    await c.next((m) => m.type === 'members');
  }
  const realUpdate = RoomHub.prototype.update;
  RoomHub.prototype.update = () => {
    throw new Error('injected fault');
  };
  t.teardown(() => {
    RoomHub.prototype.update = realUpdate;
  });
  victim.send({ type: 'update', room, announce: blob() });
  t.equal(await victim.closed, 1011);
  RoomHub.prototype.update = realUpdate;
  await bystander.next((m) => m.type === 'member-left' && m.id === victim.id);
  await bystander.sync();
  t.equal(server.metrics().rejectedFrames.INTERNAL_ERROR, 1);
  await waitFor(() => server.metrics().disconnects.internal_error === 1);
  t.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200, 'the process carries on');
});

t.test('many addresses of one network share a connection cap (IPv4 /24)', async (t) => {
  const server = await startTestServer({ maxConnectionsPerIp: 2, maxConnectionsPerSubnet: 3 });
  t.teardown(() => server.close());
  const opened: TestClient[] = [];
  t.teardown(() => opened.forEach((c) => c.close()));
  const from = async (localAddress: string) => {
    const c = await TestClient.connect(server.url, { localAddress });
    opened.push(c);
  };
  await from('127.0.0.2');
  await from('127.0.0.2');
  await from('127.0.0.3');
  await t.rejects(from('127.0.0.3'), /HTTP 429/, 'a fourth address in the /24 is refused though it has one connection');
  await t.rejects(from('127.0.0.4'), /HTTP 429/, 'and so is a fresh address there');
  await from('127.0.1.2');
  t.pass('another /24 is not affected');
  t.equal(server.metrics().refusedConnections.subnet_connection_cap, 2, 'counted as subnet_connection_cap');
});

t.test('announcements cost their fan-out: a small frame cannot make the server send without bound', async (t) => {
  const server = await startTestServer({ messageRate: 1000, messageBurst: 1000, addressMessageRate: 10_000, addressMessageBurst: 10_000 });
  t.teardown(() => server.close());
  const room = roomId();
  const members = await Promise.all(Array.from({ length: 10 }, () => TestClient.join(server.url)));
  t.teardown(() => members.forEach((c) => c.close()));
  for (const c of members) {
    c.send({ type: 'join', room, announce: blob(16) });
    await c.next((m) => m.type === 'members');
  }
  const [loud, listener] = [members[0]!, members[1]!];
  const big = blob(4096); // 5464 characters, to 10 members: ~55 KB of fan-out each
  for (let i = 0; i < 60; i++) loud.send({ type: 'update', room, announce: big, ref: `u${i}` });
  await loud.next((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
  await loud.sync();
  await listener.sync();
  const delivered = listener.ofType('member-update').length;
  // The default burst (1 MiB) covers about 19 of them; 60 at the frame budget would all pass.
  t.ok(delivered >= 10 && delivered <= 25, `${delivered} of 60 updates fanned out`);
});
