// Rooms over real WebSockets on loopback: presence, isolation, departures, directed messages.
import t, { type Test } from 'tap';
import { blob, roomId, sleep, startTestServer, TestClient, waitFor } from './helpers.js';

/** Three clients that joined one fresh room in turn (each saw its members list); closed when `t` ends. */
async function threeMembers(t: Test, url: string): Promise<{ room: string; a: TestClient; b: TestClient; c: TestClient }> {
  const room = roomId();
  const [a, b, c] = (await Promise.all([1, 2, 3].map(() => TestClient.join(url)))) as [TestClient, TestClient, TestClient];
  t.teardown(() => [a, b, c].forEach((x) => x.close()));
  for (const x of [a, b, c]) {
    x.send({ type: 'join', room, announce: blob() });
    await x.next((m) => m.type === 'members');
  }
  return { room, a, b, c };
}

t.test('room behaviour', async (t) => {
  const server = await startTestServer({ maxMembersPerRoom: 3, maxRoomsPerConnection: 2, maxRooms: 5 });
  t.teardown(() => server.close());

  t.test('two members see each other within 100 ms', async (t) => {
    const room = roomId();
    const [a, b] = await Promise.all([TestClient.join(server.url), TestClient.join(server.url)]);
    t.teardown(() => (a.close(), b.close()));
    const annA = blob();
    const annB = blob();
    a.send({ type: 'join', room, announce: annA, ref: 'ja' });
    const membersA = await a.next((m) => m.type === 'members');
    t.strictSame(membersA, { type: 'members', room, members: [], ref: 'ja' }, 'first member finds an empty room');

    const start = performance.now();
    b.send({ type: 'join', room, announce: annB });
    const [membersB, joined] = await Promise.all([
      b.next((m) => m.type === 'members'),
      a.next((m) => m.type === 'member-joined'),
    ]);
    const elapsed = performance.now() - start;
    t.ok(elapsed < 100, `both sides know within ${elapsed.toFixed(1)} ms`);
    t.strictSame(membersB, { type: 'members', room, members: [{ id: a.id, announce: annA, seen: '127.0.0.1' }] });
    t.strictSame(joined, { type: 'member-joined', room, id: b.id, announce: annB, seen: '127.0.0.1' });
    t.not(a.id, b.id, 'member ids are per connection');
  });

  t.test('a client of another room sees nothing', async (t) => {
    const room = roomId();
    const [a, b, outsider] = await Promise.all([1, 2, 3].map(() => TestClient.join(server.url)));
    t.teardown(() => [a, b, outsider].forEach((c) => c!.close()));
    outsider!.send({ type: 'join', room: roomId(), announce: blob() });
    await outsider!.next((m) => m.type === 'members');
    a!.send({ type: 'join', room, announce: blob() });
    await a!.next((m) => m.type === 'members');
    b!.send({ type: 'join', room, announce: blob() });
    await a!.next((m) => m.type === 'member-joined');
    b!.send({ type: 'update', room, announce: blob() });
    b!.send({ type: 'send', room, to: a!.id, data: blob() });
    await a!.next((m) => m.type === 'message');
    await outsider!.sync();
    t.strictSame(
      outsider!.received.map((m) => m.type),
      ['welcome', 'members', 'pong'],
      'outsider got only its own replies',
    );
    outsider!.send({ type: 'send', room, to: a!.id, data: blob() });
    const err = await outsider!.next((m) => m.type === 'error');
    t.equal(err.type === 'error' && err.code, 'NOT_IN_ROOM', 'cannot message into a room it has not joined');
  });

  t.test('leave and dropped connections produce member-left; update produces member-update', async (t) => {
    const { room, a, b, c } = await threeMembers(t, server.url);
    const fresh = blob();
    c.send({ type: 'update', room, announce: fresh });
    t.strictSame(await a.next((m) => m.type === 'member-update'), { type: 'member-update', room, id: c.id, announce: fresh, seen: '127.0.0.1' });
    await b.next((m) => m.type === 'member-update');
    await c.sync();
    t.equal(c.ofType('member-update').length, 0, 'the sender does not hear its own update');

    b.send({ type: 'leave', room });
    t.strictSame(await a.next((m) => m.type === 'member-left'), { type: 'member-left', room, id: b.id });
    t.strictSame(await c.next((m) => m.type === 'member-left'), { type: 'member-left', room, id: b.id });

    c.ws.terminate(); // no close handshake: the TCP connection just dies
    await a.next((m) => m.type === 'member-left' && m.id === c.id);

    const late = await TestClient.join(server.url);
    t.teardown(() => late.close());
    late.send({ type: 'join', room, announce: blob() });
    const members = await late.next((m) => m.type === 'members');
    t.strictSame(members.type === 'members' && members.members.map((m) => m.id), [a.id], 'only a remains, with its latest state');
    b.send({ type: 'update', room, announce: blob(), ref: 'u1' });
    t.strictSame(await b.next((m) => m.type === 'error'), {
      type: 'error',
      code: 'NOT_IN_ROOM',
      message: 'not in this room',
      ref: 'u1',
    });
  });

  t.test('directed messages reach only their target', async (t) => {
    const { room, a, b, c } = await threeMembers(t, server.url);
    const data = blob(200);
    a.send({ type: 'send', room, to: c.id, data });
    t.strictSame(await c.next((m) => m.type === 'message'), { type: 'message', room, from: a.id, data });
    await Promise.all([a.sync(), b.sync()]);
    t.equal(b.ofType('message').length, 0, 'bystander got nothing');
    t.equal(a.ofType('message').length, 0, 'sender got nothing back');
    a.send({ type: 'send', room, to: 'nobody-here', data });
    const err = await a.next((m) => m.type === 'error');
    t.equal(err.type === 'error' && err.code, 'NO_SUCH_MEMBER');
  });

  t.test('capacity limits answer with their codes', async (t) => {
    const room = roomId();
    const clients = await Promise.all([1, 2, 3, 4].map(() => TestClient.join(server.url)));
    t.teardown(() => clients.forEach((c) => c.close()));
    for (const c of clients.slice(0, 3)) {
      c.send({ type: 'join', room, announce: blob() });
      await c.next((m) => m.type === 'members');
    }
    const fourth = clients[3]!;
    fourth.send({ type: 'join', room, announce: blob() });
    t.equal(((await fourth.next((m) => m.type === 'error')) as { code: string }).code, 'ROOM_FULL');

    const first = clients[0]!;
    first.send({ type: 'join', room, announce: blob() });
    await first.next((m) => m.type === 'error' && m.code === 'ALREADY_IN_ROOM');
    first.send({ type: 'join', room: roomId(), announce: blob() });
    await first.next((m) => m.type === 'members' && m.room !== room);
    first.send({ type: 'join', room: roomId(), announce: blob() });
    await first.next((m) => m.type === 'error' && m.code === 'TOO_MANY_ROOMS');

    // maxRooms is 5: fill the server up, then one more room is refused.
    let refused = false;
    for (let i = 0; i < 6 && !refused; i++) {
      const r = roomId();
      const c = clients[1 + (i % 3)]!;
      c.send({ type: 'join', room: r, announce: blob(), ref: `fill${i}` });
      const reply = await c.next((m) => (m.type === 'members' && m.room === r) || (m.type === 'error' && m.ref === `fill${i}`));
      if (reply.type === 'error') {
        t.equal(reply.code === 'SERVER_FULL' || reply.code === 'TOO_MANY_ROOMS', true, reply.code);
        refused = reply.code === 'SERVER_FULL';
      }
    }
    t.ok(refused, 'SERVER_FULL once the server holds maxRooms rooms');
    t.equal(server.metrics().rooms, 5);
  });

  t.test('metrics account for rooms and members as they come and go', async (t) => {
    await sleep(50);
    await waitFor(() => server.metrics().connectedAgents === 0, 2000, 'all test clients gone');
    t.equal(server.metrics().rooms, 0, 'empty rooms are forgotten');
    t.equal(server.metrics().members, 0);
  });
});
