// Admin-signed statements of a room with admins (agent/join/membership): memberships, invite
// grants and their redemption, admin chains from the anchor, revocation lists and invites.
import t from 'tap';
import { formatKey } from '../../shared/keys.js';
import { PrivateKey } from '../wireguard/crypto.js';
import { certifyAdmin, chainFor, checkInvite, checkMembership, checkRedemption, signInvite, signMembership, signRedemption, type AdminSigner } from '../join/membership/statements.js';
import { RevocationStore, signRevocations } from '../join/membership/revocations.js';
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

t.test('revocation lists: newer supersedes, replayed/older/shrinking/forged refused', async (t) => {
  const root = rootAdmin();
  const [a, b] = [PrivateKey.generate(), PrivateKey.generate()].map((k) => formatKey(k.publicKey));
  const store = new RevocationStore(root.anchor);
  const v1 = signRevocations(root, 1, [a!], NOW);
  t.same(store.offer(v1), { ok: true, value: [a] });
  t.ok(store.isRevoked(a!) && store.version === 1);
  t.match(store.offer(v1), { ok: false, reason: 'replayed' });
  const v2 = store.next(root, b!, NOW);
  const other = new RevocationStore(root.anchor);
  t.same(other.offer(v2), { ok: true, value: [a, b] }, 'a member that missed v1 takes v2 whole');
  t.match(other.offer(v1), { ok: false, reason: 'older' });
  t.match(store.offer(signRevocations(root, 3, [b!], NOW)), { ok: false, reason: 'shrinks' });
  const insider = PrivateKey.generate();
  t.match(store.offer(signRevocations({ privateKey: insider.raw, anchor: root.anchor, chain: [] }, 9, [a!, b!], NOW)), { ok: false, reason: 'untrusted_signer' });
  t.match(store.offer({ ...v2, keys: [a, b, formatKey(insider.publicKey)] }), { ok: false, reason: 'bad_signature' });
  t.match(store.offer({ t: 'revoke', v: 'x' }), { ok: false, reason: 'malformed' });
  t.equal(store.version, 1);
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
