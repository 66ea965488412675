// Rooms per address and per network: one address (IPv6 /64) and one IPv4 /24 (IPv6 /56) may hold
// only so many distinct rooms, however many connections they open, so a few addresses cannot
// fill the server with rooms (issue 10, finding 5). Clients here are plain WebSocket clients
// speaking the protocol by hand from chosen loopback addresses.
import t from 'tap';
import { blob, roomId, startTestServer, TestClient } from './helpers.js';

let refs = 0;
async function joinRoom(c: TestClient, room: string): Promise<string> {
  const ref = `j${refs++}`;
  c.send({ type: 'join', room, announce: blob(), ref });
  const m = await c.next((x) => (x.type === 'members' || x.type === 'error') && 'ref' in x && x.ref === ref);
  return m.type === 'error' ? m.code : 'joined';
}

t.test('an address holds at most maxRoomsPerIp rooms over all its connections; its network at most maxRoomsPerSubnet', async (t) => {
  const server = await startTestServer({ maxRoomsPerIp: 3, maxRoomsPerSubnet: 5, maxRoomsPerConnection: 2 });
  t.teardown(() => server.close());
  const clients: TestClient[] = [];
  t.teardown(() => clients.forEach((c) => c.close()));
  const from = async (localAddress: string) => {
    const c = await TestClient.join(server.url, undefined, { localAddress });
    clients.push(c);
    return c;
  };
  const [a1, a2, a3] = [await from('127.0.3.2'), await from('127.0.3.2'), await from('127.0.3.2')];
  const rooms = [roomId(), roomId(), roomId(), roomId()];
  t.equal(await joinRoom(a1!, rooms[0]!), 'joined');
  t.equal(await joinRoom(a1!, rooms[1]!), 'joined');
  t.equal(await joinRoom(a2!, rooms[2]!), 'joined', 'a third room from a second connection of the address');
  t.equal(await joinRoom(a2!, rooms[3]!), 'ADDRESS_LIMIT', 'a fourth room is refused: the address holds 3');
  t.equal(await joinRoom(a3!, rooms[0]!), 'joined', 'a room the address is already in costs nothing more');
  // Another address of the same /24 adds rooms until the network holds 5.
  const b = await from('127.0.3.3');
  t.equal(await joinRoom(b, rooms[3]!), 'joined');
  t.equal(await joinRoom(b, roomId()), 'joined');
  const c = await from('127.0.3.4');
  t.equal(await joinRoom(c, roomId()), 'ADDRESS_LIMIT', 'a third address of the /24 gets no sixth room');
  t.equal(await joinRoom(c, rooms[1]!), 'joined', 'but may join a room its network is in');
  const elsewhere = await from('127.0.4.2');
  t.equal(await joinRoom(elsewhere, roomId()), 'joined', 'another /24 is not affected');
  t.equal(server.metrics().rejectedFrames.ADDRESS_LIMIT, 2, 'refusals are counted (rejected frames by code)');

  // Leaving (or closing) gives the rooms back.
  a2!.send({ type: 'leave', room: rooms[2] });
  await a2!.sync();
  t.equal(await joinRoom(a2!, rooms[3]!), 'joined', 'the address left a room: it may join another');
});
