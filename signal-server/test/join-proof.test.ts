// Joining a room needs proof of its secret, and the server (or anyone on the wire) learns nothing
// it could join with: attacks by clients that know only the room id, or saw a member's join.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { joinPublicKey, roomIdForKey, signJoin } from '../../shared/signal/join-proof.js';
import { blob, startTestServer, TestClient } from './helpers.js';

/** A room as its members have it: the seed stays with them, the id goes on the wire. */
function room() {
  const seed = randomBytes(32);
  return { seed, id: roomIdForKey(joinPublicKey(seed)) };
}

/** A client's hello, welcome, and the nonce its joins must sign (raw: no helper signs for it). */
async function welcomed(url: string): Promise<{ c: TestClient; nonce: string }> {
  const c = await TestClient.connect(url);
  c.send({ type: 'hello', v: 2 });
  const w = await c.next((m) => m.type === 'welcome');
  return { c, nonce: w.type === 'welcome' ? (w as { nonce?: string }).nonce ?? '' : '' };
}

const refused = async (c: TestClient, ref: string) => {
  const m = await c.next((m) => (m.type === 'error' || m.type === 'members') && m.ref === ref);
  return m.type === 'error' ? m.code : 'joined';
};

t.test('only a holder of the room secret can join; what the wire shows is no use', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const r = room();
  const member = await welcomed(server.url);
  t.teardown(() => member.c.close());
  const seen = signJoin(r.id, r.seed, member.nonce);
  member.c.send({ type: 'join', room: r.id, announce: blob(), ...seen, ref: 'm' });
  t.equal(await refused(member.c, 'm'), 'joined', 'a member with the secret joins');

  const attacker = await welcomed(server.url);
  t.teardown(() => attacker.c.close());
  attacker.c.send({ type: 'join', room: r.id, announce: blob(), ref: 'a1' });
  t.not(await refused(attacker.c, 'a1'), 'joined', 'the room id alone does not admit');
  attacker.c.send({ type: 'join', room: r.id, announce: blob(), ...seen, ref: 'a2' });
  t.equal(await refused(attacker.c, 'a2'), 'BAD_PROOF', "a member's join replayed on another connection does not admit");
  const other = room();
  attacker.c.send({ type: 'join', room: r.id, announce: blob(), ...signJoin(r.id, other.seed, attacker.nonce), ref: 'a3' });
  t.equal(await refused(attacker.c, 'a3'), 'BAD_PROOF', 'a key that is not the room\'s does not admit');
  attacker.c.send({ type: 'join', room: r.id, announce: blob(), key: seen.key, proof: Buffer.alloc(64).toString('base64url'), ref: 'a4' });
  t.equal(await refused(attacker.c, 'a4'), 'BAD_PROOF', 'the right key with a forged signature does not admit');

  await member.c.sync();
  t.equal(member.c.ofType('member-joined').length, 0, 'the member never saw the attacker');
  t.equal(server.metrics().members, 1);
});

t.test('a version 1 agent gets a clear VERSION error', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const old = await TestClient.connect(server.url);
  old.send({ type: 'hello', v: 1, ref: 'h' });
  const m = await old.next((m) => m.type === 'error');
  t.equal(m.type === 'error' && m.code, 'VERSION');
  await old.closed;
});
