// Membership control on the in-memory JoinNet: invites turned into memberships by the admin's
// agent (within their uses and expiry), only admitted keys become peers, and an admin's removal
// drops the member everywhere, reaches members that were away through other members, and cannot
// be forged, replayed or rolled back.
import t, { type Test } from 'tap';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';
import { AdminRoom } from './fixtures/admin-room.js';
import { PrivateKey } from '../wireguard/crypto.js';
import { MAX_REVOKED, revocationHash, signRevocations } from '../join/membership/revocations.js';
import { certifyAdmin, chainFor, signMembership } from '../join/membership/statements.js';
import { formatKey } from '../../shared/keys.js';

const knows = (at: JoinNode, of: JoinNode) => !!at.agent.members.get(of.key.publicKey) && !!at.device.getPeer(of.key.publicKey);
const count = (n: JoinNode, what: string) => n.agent.counters.get(what) ?? 0;
const meshed = (nodes: JoinNode[]) => () => nodes.every((a) => nodes.every((b) => a === b || knows(a, b)));

/** A room with admin `a` and members holding admin-signed memberships, meshed. */
async function adminAndMembers(t: Test, names: string[]): Promise<{ net: JoinNet; room: AdminRoom; nodes: JoinNode[] }> {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const room = new AdminRoom(net);
  const nodes = [await room.addAdmin('a')];
  for (const n of names) nodes.push(await room.member(n));
  t.ok((await net.until(meshed(nodes), 8_000)) >= 0, `${nodes.map((n) => n.name).join(', ')} meshed`);
  return { net, room, nodes };
}

/** Admin `a` and `b`, who joined with an invite of `uses` uses (kept for a second use), meshed. */
async function adminAndInvitee(t: Test, uses: number) {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const room = new AdminRoom(net);
  const a = await room.addAdmin('a');
  const invite = room.invite({ uses });
  const b = await room.join('b', invite);
  t.ok((await net.until(meshed([a, b]), 5_000)) >= 0);
  return { net, room, a, b, invite };
}

t.test('an invite becomes a membership at the admin\'s agent; then every member accepts the newcomer', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const room = new AdminRoom(net);
  const a = await room.addAdmin('a');
  const b = await room.join('b', room.invite({ name: 'bob' }));
  t.ok((await net.until(meshed([a, b]), 5_000)) >= 0, 'admin and b are peers');
  t.ok(b.agent.membership!.admittedSelf, 'b holds its membership');
  t.ok(room.saved.get('b')?.membership, 'and kept it in its state directory');
  t.same(room.saved.get('a')?.redeemed && Object.values(room.saved.get('a')!.redeemed!).map((k) => k.length), [1], 'the admin counted one use');
  const c = await room.join('c', room.invite());
  t.ok((await net.until(meshed([a, b, c]), 5_000)) >= 0, 'a newcomer meets the members that joined before it');
  t.equal(b.agent.members.get(c.key.publicKey)!.name, 'c');
  t.equal(a.agent.members.get(b.key.publicKey)!.name, 'b');
  // Restarted, b needs its state directory only: no invite.
  room.stop('b');
  const b2 = await room.restart('b');
  t.ok((await net.until(meshed([a, b2, c]), 5_000)) >= 0, 'b is back on its stored membership');
});

t.test('an expired or used-up invite is refused with a clear reason; no member adds that key', async (t) => {
  const { net, room, a, b, invite: once } = await adminAndInvitee(t, 1);
  const x = await room.join('x', once);
  t.ok((await net.until(() => (room.refusals.get('x') ?? []).length > 0, 3_000)) >= 0, 'x learns its invite was refused');
  t.same(room.refusals.get('x'), ['the invite is used up']);
  t.equal(count(a, 'invites_refused_used_up'), 1);
  const y = await room.join('y', room.invite({ expiresInMs: -1 }));
  t.ok((await net.until(() => (room.refusals.get('y') ?? []).length > 0, 3_000)) >= 0);
  t.same(room.refusals.get('y'), ['the invite has expired']);
  await net.run(2_000);
  for (const n of [a, b]) for (const o of [x, y]) t.notOk(knows(n, o), `${n.name} has no peer ${o.name}`);
  t.ok(count(b, 'announce_refused_pending_invite') >= 2, 'b ignored their invite redemptions');
  t.notOk(x.agent.membership!.admittedSelf);
});

t.test('a revoked invite admits nobody more, with a clear reason; whom it admitted before stays', async (t) => {
  const { net, room, a, b, invite: twice } = await adminAndInvitee(t, 2);
  t.equal(a.agent.membership!.remove(formatKey(new PrivateKey(twice.key).publicKey)).version, 1, 'the invite\'s id goes on revocation list 1');
  const x = await room.join('x', twice);
  t.ok((await net.until(() => (room.refusals.get('x') ?? []).length > 0, 3_000)) >= 0, 'x learns its invite was revoked');
  t.same(room.refusals.get('x'), ['the invite was revoked']);
  t.ok(count(a, 'invites_refused_revoked') >= 1, 'the admin counted the refusal');
  await net.run(1_000);
  t.notOk(knows(a, x) || knows(b, x), 'nobody adds x');
  t.ok(knows(a, b) && knows(b, a), 'b, admitted with the invite before, stays');
});

t.test('a key without a membership (secret only, or self-signed) is no peer: no announcement, handshake or bounce bind', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const room = new AdminRoom(net);
  const a = await room.addAdmin('a');
  const b = await room.member('b', { nat: 'public', agent: { bounce: true } });
  t.ok((await net.until(meshed([a, b]), 5_000)) >= 0);
  // x holds the secret and runs as in a room without admins; y signs its own membership.
  const x = await net.add('x', { nat: 'symmetric' });
  const yKey = PrivateKey.generate();
  const self = { privateKey: yKey.raw, anchor: room.anchor, chain: [] };
  const y = await room.add('y', {}, { key: yKey });
  // y's own agent would not announce a membership that does not verify: a modified one does.
  const forged = signMembership(self, { key: yKey.publicKey, name: 'y' });
  y.agent.membership!.proof = () => ({ ms: forged });
  y.agent.signalling.announceUpdate();
  await net.run(5_000);
  for (const n of [a, b]) for (const o of [x, y]) t.notOk(knows(n, o), `${n.name} has no peer ${o.name}`);
  t.ok(count(a, 'announce_refused_not_admitted') >= 1 && count(b, 'announce_refused_not_admitted') >= 1, 'x counted as not admitted');
  t.ok(count(b, 'announce_refused_untrusted_signer') >= 1, 'y\'s self-made membership counted');
  t.ok(knows(x, b), 'x added b itself (it has no anchor to check)...');
  t.ok(x.device.getPeer(b.key.publicKey)!.stats.lastHandshakeWall === 0, '...but no handshake completes with b');
  t.ok(count(b, 'handshake_refused_not_member') >= 1, `its handshake initiations reached b and were refused (${count(b, 'handshake_refused_not_member')} relayed, ${b.device.counters.get('rx_bad_initiation') ?? 0} direct)`);
  t.equal(b.agent.bounce!.relay.endpointOf(x.signal.memberId!), undefined, 'nor does x bind at b\'s bounce');
  t.ok((b.agent.bounce!.relay.stats.dropped.get('bad_auth') ?? 0) >= 1, 'its binds were refused');
});

t.test('a removal drops the member at every member at once; it cannot come back', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const room = new AdminRoom(net);
  const a = await room.addAdmin('a');
  const b = await room.join('b', room.invite());
  const c = await room.join('c', room.invite());
  const d = await room.member('d');
  t.ok((await net.until(meshed([a, b, c, d]), 8_000)) >= 0);
  t.throws(() => b.agent.membership!.remove('c'), /only an admin/, 'a non-admin cannot remove');
  t.equal(count(b, 'remove_refused_not_admin'), 1);
  const r = a.agent.membership!.remove('c');
  t.match(r, { name: 'c', version: 1 });
  t.notOk(knows(a, c), 'the admin dropped c');
  const took = await net.until(() => [b, d].every((n) => !knows(n, c)), 5_000, 5);
  t.ok(took >= 0 && took < 100, `every member dropped c within ${took} ms`);
  t.ok([b, d].every((n) => n.agent.membership!.store.version === 1 && room.saved.get(n.name)?.revocations), 'and kept the list');
  t.ok(knows(b, d) && knows(d, b), 'the others are still peers');
  // c, still holding the secret and its old membership, reconnects.
  c.signal.reconnect('test');
  await net.run(3_000);
  t.ok([a, b, d].every((n) => !knows(n, c)), 'c is refused on its return');
  t.ok(count(b, 'announce_refused_revoked') >= 1);
  t.throws(() => a.agent.membership!.remove('c'), /already removed/);
});

t.test('a member away during a removal learns it from a non-admin member, with the admin gone', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const room = new AdminRoom(net);
  const a = await room.addAdmin('a');
  const b = await room.member('b');
  const c = await room.member('c');
  const d = await room.member('d');
  t.ok((await net.until(meshed([a, b, c, d]), 8_000)) >= 0);
  room.stop('c');
  a.agent.membership!.remove('d');
  await net.run(500);
  room.stop('a');
  const c2 = await room.restart('c');
  const took = await net.until(() => c2.agent.membership!.store.version === 1 && !knows(c2, d), 5_000);
  t.ok(took >= 0, `c learned the removal from b after ${took} ms`);
  t.ok(count(b, 'revocations_passed_on') >= 1, 'b passed the list on');
  t.ok(room.saved.get('c')?.revocations, 'c kept it');
  t.ok(knows(c2, b));
});

t.test('an admin revokes more keys than one statement holds; a member away learns them all from a non-admin', async (t) => {
  const { net, room, nodes } = await adminAndMembers(t, ['b', 'c', 'd', 'e']);
  const [a, b, , d, e] = nodes as [JoinNode, JoinNode, JoinNode, JoinNode, JoinNode];
  room.stop('c');
  // Members' keys and invites' ids (as `wgp2p invite --revoke` puts them on the list): 45 keys.
  const invites = Array.from({ length: 44 }, () => formatKey(new PrivateKey(room.invite().key).publicKey));
  a.agent.membership!.revoke(room.admin, [d.key.publicKey, ...invites].map((k) => (typeof k === 'string' ? k : formatKey(k))));
  t.equal(a.agent.membership!.store.version, 2, `45 keys in 2 versions of at most ${MAX_REVOKED}`);
  // Both versions go out together: a member does not wait to announce version 1 to get version 2.
  const first = await net.until(() => [b, e].every((n) => n.agent.membership!.store.version >= 1), 1_000, 1);
  const second = await net.until(() => [b, e].every((n) => n.agent.membership!.store.version === 2), 1_000, 1);
  t.ok(first >= 0 && second === 0, `the admin sent both versions to every member at once (version 1 after ${first} ms, version 2 then ${second} ms later)`);
  t.ok(!knows(b, d) && !knows(e, d), 'members dropped d');
  t.equal(a.agent.membership!.remove('e').version, 3, 'then one more removal');
  await net.run(500);
  t.ok(b.agent.membership!.store.version === 3 && b.agent.membership!.store.keys().length === 46, 'b holds all 46 keys');
  // Only b is left to tell c (d and e, removed, would pass the chain on too while c still took them).
  for (const n of ['a', 'd', 'e']) room.stop(n);
  const c2 = await room.restart('c');
  const took = await net.until(() => c2.agent.membership!.store.version === 3, 5_000);
  t.ok(took >= 0, `c learned all 3 versions from b after ${took} ms, with the admin gone`);
  t.equal(c2.agent.membership!.store.keys().length, 46, 'every revoked key');
  t.ok(invites.every((k) => c2.agent.membership!.store.isRevoked(k)), 'the invites among them');
  t.ok(knows(c2, b) && count(b, 'revocations_passed_on') >= 1, 'b passed the chain on');
  t.equal(count(c2, 'revocations_applied'), 3);
  // Several members may send the same version (a duplicate counts as replayed); none arrives out of order.
  t.equal(count(c2, 'revocation_refused_gap') + count(c2, 'revocation_refused_conflict'), 0, 'no gap, no conflict on the way');
  t.equal((room.saved.get('c')?.revocations as unknown[]).length, 3, 'c kept the chain');
  // Restarted once more, c loads the chain from its state directory.
  room.stop('c');
  const c3 = await room.restart('c');
  t.equal(c3.agent.membership!.store.version, 3);
  t.equal(c3.agent.membership!.store.keys().length, 46);
});

t.test('forged, replayed and older revocation lists are refused and counted', async (t) => {
  const { net, room, nodes } = await adminAndMembers(t, ['b', 'x', 'v', 'w']);
  const [a, b, x, v, w] = nodes as [JoinNode, JoinNode, JoinNode, JoinNode, JoinNode];
  // x is an insider with its own pair key with b: the MAC passes, the statements must not.
  const xb = x.agent.members.get(b.key.publicKey)!;
  const send = (st: Record<string, unknown>) => x.agent.signalling.sendStatement(xb.memberId, st, xb.keys.messageKey);
  const insider = PrivateKey.generate();
  send(signRevocations({ privateKey: insider.raw, anchor: room.anchor, chain: [] }, 1, [v.agent.members.get(w.key.publicKey)!.key], undefined));
  await net.run(200);
  t.equal(count(b, 'revocation_refused_untrusted_signer'), 1, 'a list signed by an insider');
  t.ok(knows(b, w), 'and w is still b\'s peer');
  a.agent.membership!.remove('v');
  await net.run(200);
  const v1 = b.agent.membership!.store.latest!.raw;
  send(v1);
  await net.run(200);
  t.equal(count(b, 'revocation_refused_replayed'), 1, 'the same list again');
  a.agent.membership!.remove('w');
  await net.run(200);
  t.equal(b.agent.membership!.store.version, 2);
  send(v1);
  await net.run(200);
  t.equal(count(b, 'revocation_refused_older'), 1, 'an older list');
  send({ ...b.agent.membership!.store.latest!.raw, v: 3 });
  await net.run(200);
  t.equal(count(b, 'revocation_refused_bad_signature'), 1, 'a version number changed by hand');
  send(signRevocations(room.admin, 2, [formatKey(insider.publicKey)], revocationHash(v1)));
  await net.run(200);
  t.equal(count(b, 'revocation_refused_conflict'), 1, 'another version 2 (admin-signed, but not the one b holds)');
  send(signRevocations(room.admin, 4, [formatKey(insider.publicKey)], revocationHash(b.agent.membership!.store.latest!.raw)));
  await net.run(200);
  t.equal(count(b, 'revocation_refused_gap'), 1, 'a version 4 without version 3');
  t.equal(b.agent.membership!.store.version, 2);
  t.notOk(b.agent.membership!.store.isRevoked(formatKey(insider.publicKey)));
});

t.test('a second admin, certified by the anchor, removes members; once revoked, it no longer can', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const room = new AdminRoom(net);
  const a = await room.addAdmin('a');
  const bAdmin = PrivateKey.generate();
  const b = await room.add('b', { admin: { privateKey: bAdmin.raw, anchor: room.anchor, chain: chainFor(room.admin, certifyAdmin(room.admin, bAdmin.publicKey)) } });
  const c = await room.join('c', room.invite());
  const d = await room.member('d');
  t.ok((await net.until(meshed([a, b, c, d]), 8_000)) >= 0, 'b admitted itself with its certified key');
  b.agent.membership!.remove('c');
  t.ok((await net.until(() => [a, d].every((n) => !knows(n, c)), 1_000)) >= 0, 'a removal by the second admin holds everywhere');
  a.agent.membership!.remove(formatKey(bAdmin.publicKey));
  await net.run(500);
  t.throws(() => b.agent.membership!.remove('d'), /did not apply/, 'a revoked admin key signs nothing');
  t.equal(count(b, 'revocation_refused_revoked_signer'), 1);
  t.ok(knows(a, d) && knows(d, a));
});
