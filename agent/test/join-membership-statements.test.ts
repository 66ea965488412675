// Admin-signed statements of a room with admins (agent/join/membership): memberships, invite
// grants and their redemption, admin chains from the anchor, revocation lists and invites.
import t from 'tap';
import { formatKey } from '../../shared/keys.js';
import { PrivateKey } from '../wireguard/crypto.js';
import { MAX_CHAIN, certifyAdmin, chainFor, checkInvite, checkMembership, checkRedemption, signInvite, signMembership, signRedemption, type AdminSigner } from '../join/membership/statements.js';
import { MAX_REVOKED, RevocationStore, revocationHash, signRevocations } from '../join/membership/revocations.js';
import { sealMembershipMessage } from '../join/room/peer-message.js';
import { MAX_BLOB_BYTES } from '../../shared/signal/protocol.js';
import { deriveRoom } from '../../shared/signal/room-key.js';
import { decodeInvite, encodeInvite, inviteId, parseDuration } from '../join/membership/invite.js';

const NOW = 1_800_000_000_000;

function rootAdmin(): AdminSigner & { key: PrivateKey } {
  const key = PrivateKey.generate();
  return { key, privateKey: key.raw, anchor: formatKey(key.publicKey), chain: [] };
}

const open = (anchor: string, revoked: string[] = []) => ({ anchor, isRevoked: (k: string) => revoked.includes(k) });

t.test('a membership signed by the anchor holds for its key only; a self-made one does not', async (t) => {
  const root = rootAdmin();
  const m = PrivateKey.generate();
  const key = formatKey(m.publicKey);
  const st = signMembership(root, { key: m.publicKey, name: 'carol' }, NOW);
  t.match(checkMembership(st, key, open(root.anchor)), { ok: true, value: { key, name: 'carol', by: root.anchor } });
  t.match(checkMembership(st, formatKey(PrivateKey.generate().publicKey), open(root.anchor)), { ok: false, reason: 'other_key' });
  t.match(checkMembership(st, key, open(root.anchor, [key])), { ok: false, reason: 'revoked' });
  // An insider signing with its own key, claiming the anchor's room.
  const insider = PrivateKey.generate();
  const forged = signMembership({ privateKey: insider.raw, anchor: root.anchor, chain: [] }, { key: m.publicKey, name: 'carol' }, NOW);
  t.match(checkMembership(forged, key, open(root.anchor)), { ok: false, reason: 'untrusted_signer' });
  // Tampering with the name breaks the signature; another room's anchor is refused.
  t.match(checkMembership({ ...st, n: 'mallory' }, key, open(root.anchor)), { ok: false, reason: 'bad_signature' });
  t.match(checkMembership(st, key, open(formatKey(PrivateKey.generate().publicKey))), { ok: false, reason: 'other_room' });
  t.match(checkMembership({ t: 'member' }, key, open(root.anchor)), { ok: false, reason: 'malformed' });
  t.match(checkMembership('junk', key, open(root.anchor)), { ok: false, reason: 'malformed' });
});

t.test('a second admin signs through its certificate chain; revoking it ends its power', async (t) => {
  const root = rootAdmin();
  const second = PrivateKey.generate();
  const cert = certifyAdmin(root, second.publicKey, NOW);
  const admin2: AdminSigner = { privateKey: second.raw, anchor: root.anchor, chain: chainFor(root, cert) };
  const m = PrivateKey.generate();
  const key = formatKey(m.publicKey);
  const st = signMembership(admin2, { key: m.publicKey, name: 'dave' }, NOW);
  t.match(checkMembership(st, key, open(root.anchor)), { ok: true, value: { by: formatKey(second.publicKey) } });
  t.match(checkMembership(st, key, open(root.anchor, [formatKey(second.publicKey)])), { ok: false, reason: 'revoked_signer' });
  const noChain = { ...st };
  delete noChain.ch;
  t.match(checkMembership(noChain, key, open(root.anchor)), { ok: false });
  // A certificate made by a non-admin does not chain.
  const self = certifyAdmin({ privateKey: second.raw, anchor: root.anchor, chain: [] }, second.publicKey, NOW);
  const selfMade = signMembership({ privateKey: second.raw, anchor: root.anchor, chain: [self] }, { key: m.publicKey, name: 'dave' }, NOW);
  t.match(checkMembership(selfMade, key, open(root.anchor)), { ok: false, reason: 'untrusted_signer' });
});

t.test('an invite grant is redeemed for one key with the invite key, before it expires', async (t) => {
  const root = rootAdmin();
  const inviteKey = PrivateKey.generate();
  const grant = signInvite(root, { inviteKey: inviteKey.publicKey, uses: 1, expires: NOW + 60_000, name: 'carol' }, NOW);
  const joiner = PrivateKey.generate();
  const jk = formatKey(joiner.publicKey);
  const red = signRedemption(inviteKey.raw, grant, joiner.publicKey);
  t.match(checkRedemption(red, jk, open(root.anchor), NOW), { ok: true, value: { id: formatKey(inviteKey.publicKey), uses: 1, name: 'carol' } });
  t.match(checkRedemption(red, jk, open(root.anchor), NOW + 60_000), { ok: false, reason: 'expired' });
  // Someone who read the announcement moves it to its own key: the invite key did not sign that.
  const thief = formatKey(PrivateKey.generate().publicKey);
  t.match(checkRedemption(red, thief, open(root.anchor), NOW), { ok: false, reason: 'other_key' });
  const stolen = signRedemption(PrivateKey.generate().raw, grant, Buffer.from(thief, 'base64'));
  t.match(checkRedemption(stolen, thief, open(root.anchor), NOW), { ok: false, reason: 'other_key' });
  t.match(checkRedemption(red, jk, open(root.anchor, [formatKey(inviteKey.publicKey)]), NOW), { ok: false, reason: 'revoked' });
});

const keysOf = (n: number) => Array.from({ length: n }, () => formatKey(PrivateKey.generate().publicKey));

t.test('revocations chain: each version adds keys on top of the one before; any number of keys over versions', async (t) => {
  const root = rootAdmin();
  const store = new RevocationStore(root.anchor);
  const first = keysOf(MAX_REVOKED);
  const v1 = store.next(root, first, NOW);
  t.same(store.offer(v1), { ok: true, value: first });
  const more = keysOf(MAX_REVOKED);
  const v2 = store.next(root, [...more, first[0]!], NOW);
  t.same((v2 as { keys: string[] }).keys, more, 'a new version carries only the keys it adds');
  t.same(store.offer(v2), { ok: true, value: more });
  const v3 = store.next(root, keysOf(5), NOW);
  t.ok(store.offer(v3).ok);
  t.equal(store.version, 3);
  t.equal(store.keys().length, 2 * MAX_REVOKED + 5, 'more than one statement\'s worth of keys');
  t.throws(() => signRevocations(root, 4, keysOf(MAX_REVOKED + 1), revocationHash(v3), NOW), /at most|1 to/);
  // A member that holds nothing loads (or is sent) the chain in order, one statement each.
  const other = new RevocationStore(root.anchor);
  t.same(other.load(store.statements()), { applied: 3 });
  t.same(other.keys().sort(), store.keys().sort());
  t.same(store.since(1), [v2, v3], 'what a member at version 1 lacks');
  // Each statement fits one sealed message, even with a full admin chain.
  let signer: AdminSigner = root;
  for (let i = 0; i < MAX_CHAIN; i++) {
    const k = PrivateKey.generate();
    signer = { privateKey: k.raw, anchor: root.anchor, chain: chainFor(signer, certifyAdmin(signer, k.publicKey, NOW)) };
  }
  const full = signRevocations(signer, 99, keysOf(MAX_REVOKED), revocationHash(v3), NOW);
  const sealed = sealMembershipMessage(deriveRoom('office', 'sekrit'), { publicKey: PrivateKey.generate().publicKey, from: 'a'.repeat(22), to: 'b'.repeat(22), statement: full }, Buffer.alloc(32), NOW);
  t.ok(Buffer.from(sealed, 'base64').length <= MAX_BLOB_BYTES, `a full statement seals to ${Buffer.from(sealed, 'base64').length} of ${MAX_BLOB_BYTES} bytes`);
});

t.test('revocations chain: gap, conflict, forged, replayed and older refused; a revoked admin\'s past versions still load', async (t) => {
  const root = rootAdmin();
  const [a, b, c] = keysOf(3);
  const store = new RevocationStore(root.anchor);
  const v1 = store.next(root, [a!], NOW);
  t.ok(store.offer(v1).ok);
  t.match(store.offer(v1), { ok: false, reason: 'replayed' });
  const v2 = store.next(root, [b!], NOW);
  const behind = new RevocationStore(root.anchor);
  t.match(behind.offer(v2), { ok: false, reason: 'gap' }, 'version 2 without version 1');
  t.equal(behind.version, 0);
  t.ok(store.offer(v2).ok);
  t.match(store.offer(v1), { ok: false, reason: 'older' });
  // Another version 2 (e.g. signed twice): refused, whether it names our version 1 or not.
  t.match(store.offer(signRevocations(root, 2, [c!], revocationHash(v1), NOW)), { ok: false, reason: 'conflict' });
  t.match(store.offer(signRevocations(root, 3, [c!], revocationHash(v1), NOW)), { ok: false, reason: 'conflict' }, 'a version 3 on another version 2');
  const insider = PrivateKey.generate();
  t.match(store.offer(signRevocations({ privateKey: insider.raw, anchor: root.anchor, chain: [] }, 3, [c!], revocationHash(v2), NOW)), { ok: false, reason: 'untrusted_signer' });
  t.match(store.offer({ ...v2, keys: [b, c] }), { ok: false, reason: 'bad_signature' });
  t.match(store.offer({ ...v2, v: 3 }), { ok: false, reason: 'bad_signature' });
  t.match(store.offer({ t: 'revoke', v: 'x' }), { ok: false, reason: 'malformed' });
  t.match(store.offer({ ...v2, prev: undefined }), { ok: false, reason: 'malformed' }, 'a later version must name its predecessor');
  t.equal(store.version, 2);
  t.notOk(store.isRevoked(c!));
  // A second admin signs version 3, then version 4 revokes it: its version 3 stays in the chain.
  const k = PrivateKey.generate();
  const second: AdminSigner = { privateKey: k.raw, anchor: root.anchor, chain: chainFor(root, certifyAdmin(root, k.publicKey, NOW)) };
  t.ok(store.offer(store.next(second, [c!], NOW)).ok);
  t.ok(store.offer(store.next(root, [formatKey(k.publicKey)], NOW)).ok);
  t.match(store.offer(store.next(second, keysOf(1), NOW)), { ok: false, reason: 'revoked_signer' });
  const reloaded = new RevocationStore(root.anchor);
  t.same(reloaded.load(store.statements()), { applied: 4 }, 'checked in order: each statement under what was revoked before it');
  // A stored list of the old single-list form: version 1 is the start of a chain; later ones are not.
  t.same(new RevocationStore(root.anchor).load(v1), { applied: 1 });
  t.same(new RevocationStore(root.anchor).load({ ...v2 }), { applied: 0, reason: 'gap' });
});

t.test('invites round-trip as one line; damaged ones are a clear error', async (t) => {
  const root = rootAdmin();
  const inviteKey = PrivateKey.generate();
  const grant = signInvite(root, { inviteKey: inviteKey.publicKey, uses: 2, expires: NOW + 1 }, NOW);
  const line = encodeInvite({ server: 'ws://s:8080/ws', room: 'office', secret: 'sekrit', anchor: root.anchor, inviteKey: inviteKey.raw, grant });
  t.match(line, /^wgp2p-invite:[A-Za-z0-9_-]+$/);
  const back = decodeInvite(`  ${line}\n`);
  t.same({ ...back, inviteKey: formatKey(back.inviteKey) }, { server: 'ws://s:8080/ws', room: 'office', secret: 'sekrit', anchor: root.anchor, inviteKey: formatKey(inviteKey.raw), grant });
  t.throws(() => decodeInvite('hello'), /not a wgp2p invite/);
  t.throws(() => decodeInvite(line.slice(0, 40)), /damaged/);
  const id = checkInvite(grant, { anchor: root.anchor, isRevoked: () => false });
  t.equal(inviteId(line), id.ok && id.value.id, 'an invite\'s id (for --revoke) is the id its grant carries');
  t.equal(inviteId(` ${formatKey(inviteKey.publicKey)}\n`), formatKey(inviteKey.publicKey), 'and the id itself is taken as is');
  t.throws(() => inviteId('hello'), /not a wgp2p invite/);
  t.equal(parseDuration('24h'), 86_400_000);
  t.equal(parseDuration('30m'), 1_800_000);
  t.throws(() => parseDuration('soon'), /duration/);
});
