// The trust model end to end: agents route through the server by an opaque room id with sealed
// announcements. Everything the server receives is recorded and searched for the secrets, and
// an attacker who knows the room id (as the operator does) cannot get a member accepted.
import t from 'tap';
import type WebSocket from 'ws';
import { deriveRoom, openForRoom, roomJoinProof, sealForRoom, type RoomCredentials } from '../../shared/signal/room-key.js';
import { startTestServer, TestClient } from './helpers.js';

/** Records every frame a client sends: exactly what reaches the server. */
function tap(ws: WebSocket, sink: string[]): void {
  const send = ws.send.bind(ws);
  ws.send = ((data: string, ...rest: unknown[]) => {
    sink.push(String(data));
    return (send as (...a: unknown[]) => void)(data, ...rest);
  }) as typeof ws.send;
}

const NAME = 'family-vpn';
const SECRET = 'grandma-knows-best-42';
const ENDPOINT = '203.0.113.77:51820';

/** What an honest agent does with an announcement it receives. */
function accept(room: RoomCredentials, announce: string): string | undefined {
  const opened = openForRoom(room, 'announce', announce);
  return opened && Buffer.from(opened.payload).toString();
}

t.test('the server routes sealed blobs it cannot read, and cannot forge', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const wire: string[] = [];
  const room = deriveRoom(NAME, SECRET);
  const [alice, bob, mallory] = await Promise.all([1, 2, 3].map(() => TestClient.join(server.url)));
  t.teardown(() => [alice, bob, mallory].forEach((c) => c!.close()));
  [alice, bob].forEach((c) => tap(c!.ws, wire));

  alice!.send({ type: 'join', room: room.roomId, announce: sealForRoom(room, 'announce', Buffer.from(`alice ${ENDPOINT}`)), ...roomJoinProof(room, alice!.nonce) });
  await alice!.next((m) => m.type === 'members');
  bob!.send({ type: 'join', room: room.roomId, announce: sealForRoom(room, 'announce', Buffer.from('bob 198.51.100.9:4500')), ...roomJoinProof(room, bob!.nonce) });
  const seen = await bob!.next((m) => m.type === 'members');
  const joined = await alice!.next((m) => m.type === 'member-joined');
  t.equal(seen.type === 'members' && accept(room, seen.members[0]!.announce), `alice ${ENDPOINT}`, 'bob reads alice');
  t.equal(joined.type === 'member-joined' && accept(room, joined.announce), 'bob 198.51.100.9:4500', 'alice reads bob');

  const hint = sealForRoom(room, 'message', Buffer.from(`punch ${ENDPOINT} now`));
  alice!.send({ type: 'send', room: room.roomId, to: bob!.id, data: hint });
  const msg = await bob!.next((m) => m.type === 'message');
  t.equal(msg.type === 'message' && Buffer.from(openForRoom(room, 'message', msg.data)!.payload).toString(), `punch ${ENDPOINT} now`);

  const everything = wire.join('\n');
  const keys = [room.key, room.joinSeed].flatMap((k) => ['base64', 'base64url', 'hex'].map((e) => Buffer.from(k).toString(e as BufferEncoding)));
  for (const secret of [NAME, SECRET, ENDPOINT, '198.51.100.9', ...keys]) {
    t.notOk(everything.includes(secret), `the server never received ${JSON.stringify(secret)}`);
  }
  t.ok(everything.includes(room.roomId), 'only the opaque room id');

  // Mallory knows the room id (the operator sees it) and what crossed the wire, but not the secret.
  const guess = deriveRoom(NAME, 'password123');
  mallory!.send({ type: 'join', room: room.roomId, announce: sealForRoom(guess, 'announce', Buffer.from('mallory 192.0.2.66:1')), ...roomJoinProof(guess, mallory!.nonce), ref: 'guess' });
  const refused = await mallory!.next((m) => m.type === 'error' && m.ref === 'guess');
  t.equal(refused.type === 'error' && refused.code, 'BAD_PROOF', 'a guessed secret does not admit');
  const stolen = seen.type === 'members' ? seen.members[0]!.announce : '';
  mallory!.send({ type: 'update', room: room.roomId, announce: stolen, ref: 'replay' });
  const notIn = await mallory!.next((m) => m.type === 'error' && m.ref === 'replay');
  t.equal(notIn.type === 'error' && notIn.code, 'NOT_IN_ROOM', 'so she cannot replay announcements into it either');
  await alice!.sync();
  t.notOk(alice!.received.some((m) => (m.type === 'member-joined' || m.type === 'member-update') && m.id === mallory!.id), 'the members never hear of her');
  const otherRoom = deriveRoom('other', SECRET);
  mallory!.send({ type: 'join', room: otherRoom.roomId, announce: stolen, ...roomJoinProof(otherRoom, mallory!.nonce) });
  await mallory!.next((m) => m.type === 'members' && m.room === otherRoom.roomId);
  t.equal(openForRoom(otherRoom, 'announce', stolen), undefined, 'an announcement moved to another room does not open there');
});
