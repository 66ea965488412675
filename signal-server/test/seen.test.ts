// The public IP the server tells a room it sees each member at (protocol.ts Seen), over real
// sockets on loopback: a member's WebSocket and UDP leave from different 127/8 addresses, as TCP
// and UDP may from a carrier-grade NAT. Members check birthday targets against it.
import t, { type Test } from 'tap';
import { parseServerMessage } from '../../shared/signal/index.js';
import { blob, roomId, startTestServer, TestClient } from './helpers.js';
import { UdpPeer } from './relay-helpers.js';
import type { StartOptions } from '../index.js';

const WS_IP = '127.0.0.3';
const UDP_IP = '127.0.0.4';

/** A server with a UDP relay; a on 127.0.0.1, b's WebSocket on WS_IP, and a UDP socket on UDP_IP for b. */
async function twoMembers(t: Test, limits: StartOptions) {
  const server = await startTestServer({ relay: true, relayPort: 0, ...limits });
  const room = roomId();
  const a = await TestClient.join(server.url);
  const b = await TestClient.join(server.url, undefined, { localAddress: WS_IP });
  const udp = await UdpPeer.open(server.relay!.port, UDP_IP);
  t.teardown(async () => {
    a.close();
    b.close();
    udp.close();
    await server.close();
  });
  return { server, room, a, b, udp };
}

t.test('members hear where the server sees each other: the UDP relay binding, else the connection', async (t) => {
  const { server, room, a, b, udp } = await twoMembers(t, {});
  const annA = blob();
  const annB = blob();
  a.send({ type: 'join', room, announce: annA });
  await a.next((m) => m.type === 'members');
  b.send({ type: 'join', room, announce: annB });
  t.strictSame(await b.next((m) => m.type === 'members'), { type: 'members', room, members: [{ id: a.id, announce: annA, seen: '127.0.0.1' }] }, 'the list names each member\'s address');
  t.strictSame(await a.next((m) => m.type === 'member-joined'), { type: 'member-joined', room, id: b.id, announce: annB, seen: WS_IP }, 'before a UDP binding: the WebSocket\'s address');

  const welcome = b.ofType('welcome')[0]!;
  t.ok(await udp.bind(b.id, Buffer.from(welcome.relayToken!, 'base64url')), 'b binds the relay from another address');
  const moved = await a.next((m) => m.type === 'member-update' && m.id === b.id);
  t.strictSame(moved, { type: 'member-update', room, id: b.id, announce: annB, seen: UDP_IP }, 'the binding\'s address, with the announcement a has');

  t.ok(await udp.bind(b.id, Buffer.from(welcome.relayToken!, 'base64url')), 'a refresh from the same address');
  const annB2 = blob();
  b.send({ type: 'update', room, announce: annB2 });
  const updated = await a.next((m) => m.type === 'member-update' && m.announce === annB2);
  t.equal(updated.type === 'member-update' && updated.seen, UDP_IP, 'later announcements carry it too');
  t.equal(a.ofType('member-update').length, 2, 'a refresh from the bound address tells nobody anything');

  const c = await TestClient.join(server.url);
  t.teardown(() => c.close());
  c.send({ type: 'join', room, announce: blob() });
  const list = await c.next((m) => m.type === 'members');
  t.same(list.type === 'members' && list.members.map((m) => [m.id, m.seen]), [[a.id, '127.0.0.1'], [b.id, UDP_IP]], 'a later member hears the binding\'s address');
});

t.test('a moved binding is told only within the member\'s fan-out budget, as announcements are', async (t) => {
  const { room, a, b, udp } = await twoMembers(t, { fanoutBytesPerSecond: 1, fanoutBurstBytes: 3_000 });
  a.send({ type: 'join', room, announce: blob() });
  await a.next((m) => m.type === 'members');
  b.send({ type: 'join', room, announce: blob(1_500) }); // 2,000 of b's 3,000 bytes
  await a.next((m) => m.type === 'member-joined');
  const welcome = b.ofType('welcome')[0]!;
  t.ok(await udp.bind(b.id, Buffer.from(welcome.relayToken!, 'base64url')), 'b binds the relay from another address');
  await a.sync();
  await b.sync();
  await a.sync();
  t.equal(a.ofType('member-update').length, 0, 'telling it again would cost 2,000 more: not sent');
});

t.test('agents accept an IP literal as seen, or none (older servers); anything else is refused', async (t) => {
  const room = roomId();
  const frame = (seen: unknown) => JSON.stringify({ type: 'member-joined', room, id: 'abc', announce: blob(), ...(seen === undefined ? {} : { seen }) });
  for (const seen of [undefined, '203.0.113.7', '2001:db8::1']) t.ok(parseServerMessage(frame(seen)).ok, `seen ${seen}`);
  for (const seen of ['203.0.113.7:51820', 'fe80::1%eth0', 'example.org', '', 7, null]) t.notOk(parseServerMessage(frame(seen)).ok, `seen ${JSON.stringify(seen)}`);
  const list = (seen: unknown) => JSON.stringify({ type: 'members', room, members: [{ id: 'abc', announce: blob(), seen }] });
  t.ok(parseServerMessage(list('198.51.100.9')).ok, 'in a member list');
  t.notOk(parseServerMessage(list('198.51.100.9/24')).ok, 'a prefix is no address: the whole list is refused');
});
