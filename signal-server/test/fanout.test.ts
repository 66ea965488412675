// 500 clients in 100 rooms: every announcement, update, directed message and departure reaches
// exactly the members it should, exactly once.
import t from 'tap';
import { blob, roomId, startTestServer, TestClient, waitFor } from './helpers.js';

const ROOMS = 100;
const PER_ROOM = 5;

t.test('500 clients across 100 rooms get exactly the right fan-out', async (t) => {
  const server = await startTestServer({
    maxConnectionsPerIp: 1000,
    maxConnectionsPerSubnet: 1000,
    maxRoomsPerIp: 1000,
    maxRoomsPerSubnet: 1000,
    connectRatePerIp: 10_000,
    connectBurstPerIp: 10_000,
    // All 500 agents share 127.0.0.1, unlike real agents: lift the per-address frame budget too.
    addressMessageRate: 100_000,
    addressMessageBurst: 100_000,
  });
  const clients: TestClient[] = [];
  t.teardown(async () => {
    clients.forEach((c) => c.close());
    await server.close();
  });
  for (let i = 0; i < ROOMS * PER_ROOM; i += 100) {
    clients.push(...(await Promise.all(Array.from({ length: 100 }, () => TestClient.join(server.url)))));
  }
  const rooms = Array.from({ length: ROOMS }, () => roomId());
  const roomOf = new Map<TestClient, string>();
  const byRoom = new Map<string, TestClient[]>(rooms.map((r) => [r, []]));
  clients.forEach((c, i) => {
    const r = rooms[i % ROOMS]!;
    roomOf.set(c, r);
    byRoom.get(r)!.push(c);
  });
  const announceOf = new Map<TestClient, string>(clients.map((c) => [c, blob(64)]));

  // All joins at once, interleaved across rooms.
  for (const c of clients) c.send({ type: 'join', room: roomOf.get(c)!, announce: announceOf.get(c)! });
  const knownPeers = (c: TestClient) =>
    (c.ofType('members')[0]?.members.length ?? 0) + c.ofType('member-joined').length;
  await waitFor(() => clients.every((c) => c.ofType('members').length === 1 && knownPeers(c) === PER_ROOM - 1), 10_000, 'joins');

  let joinedTotal = 0;
  let wrongViews = 0;
  for (const [room, members] of byRoom) {
    for (const c of members) {
      const seen = [...c.ofType('members')[0]!.members, ...c.ofType('member-joined')];
      const expected = members.filter((o) => o !== c);
      const right =
        seen.length === expected.length &&
        expected.every((o) => seen.some((m) => m.id === o.id && m.announce === announceOf.get(o))) &&
        c.ofType('member-joined').every((m) => m.room === room);
      if (!right) wrongViews++;
      joinedTotal += c.ofType('member-joined').length;
    }
  }
  t.equal(wrongViews, 0, 'each client knows exactly the other four members of its room, with their announcements');
  t.equal(joinedTotal, ROOMS * ((PER_ROOM * (PER_ROOM - 1)) / 2), 'one member-joined per pair of members');

  // Every client updates once and messages the next member of its room.
  for (const [room, members] of byRoom) {
    members.forEach((c, i) => {
      c.send({ type: 'update', room, announce: blob(8) });
      const to = members[(i + 1) % members.length]!;
      c.send({ type: 'send', room, to: to.id, data: Buffer.from(c.id).toString('base64') });
    });
  }
  await waitFor(
    () => clients.every((c) => c.ofType('member-update').length >= PER_ROOM - 1 && c.ofType('message').length >= 1),
    10_000,
    'updates and messages',
  );
  // One member per room leaves.
  for (const members of byRoom.values()) members[0]!.send({ type: 'leave', room: roomOf.get(members[0]!)! });
  await waitFor(() => [...byRoom.values()].every((ms) => ms.slice(1).every((c) => c.ofType('member-left').length === 1)), 10_000, 'leaves');
  await Promise.all(clients.map((c) => c.sync()));

  let wrong = 0;
  for (const [room, members] of byRoom) {
    members.forEach((c, i) => {
      const updates = c.ofType('member-update');
      const messages = c.ofType('message');
      const left = c.ofType('member-left');
      const prev = members[(i + members.length - 1) % members.length]!;
      const ok =
        updates.length === PER_ROOM - 1 &&
        new Set(updates.map((u) => u.id)).size === PER_ROOM - 1 &&
        updates.every((u) => u.room === room && u.id !== c.id) &&
        messages.length === 1 &&
        messages[0]!.from === prev.id &&
        Buffer.from(messages[0]!.data, 'base64').toString() === prev.id &&
        left.length === (i === 0 ? 0 : 1) &&
        (i === 0 || left[0]!.id === members[0]!.id) &&
        c.ofType('error').length === 0 &&
        c.invalid.length === 0;
      if (!ok) wrong++;
    });
  }
  t.equal(wrong, 0, 'every client received exactly its updates, its one message and its one departure');
  const m = server.metrics();
  t.equal(m.connectedAgents, 500);
  t.equal(m.rooms, 100);
  t.equal(m.members, 400);
  t.equal(m.framesOut['member-joined'], 1000);
  t.equal(m.framesOut['member-update'], 2000);
  t.equal(m.framesOut['message'], 500);
  t.equal(m.framesOut['member-left'], 400);
});
