// Announcements and directed messages: sealed with the room key, verified on receipt, and every
// way to misuse one refused (wrong secret, tampering, replay under another id or later, stale,
// from the future, malformed contents even when properly sealed).
import t from 'tap';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { deriveRoom, openForRoom, sealForRoom } from '../../shared/signal/room-key.js';
import { makeEndpoint } from '../../shared/net/address.js';
import { AnnouncementGuard, openAnnouncement, sealAnnouncement, type AnnouncementBody } from '../join/room/announcement.js';
import { MAX_SEEN_PER_MEMBER, PeerMessageGuard, sealBye, sealPunchRequest } from '../join/room/peer-message.js';
import { parseCandidates } from '../join/nat/candidates.js';
import { xeddsaSign } from '../join/identity/xeddsa.js';

/** The pair message key of the two members in these tests. */
const PK = randomBytes(32);

/** Private keys of the public keys made here, by hex: announcements are signed with them. */
const privateKeys = new Map<string, Buffer>();
function keyPair(): Buffer {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  privateKeys.set(pub.toString('hex'), Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
  return pub;
}
const privateOf = (pub: Buffer) => privateKeys.get(pub.toString('hex')) ?? randomBytes(32);
const seal = (r: ReturnType<typeof deriveRoom>, b: AnnouncementBody, now: number) => sealAnnouncement(r, b, privateOf(b.publicKey), now);

/** The payload inside a sealed announcement, as a member of the room can read it. */
function openSealed(blob: string): Buffer {
  return Buffer.from(openForRoom(room, 'announce', blob)!.payload);
}

/** A hand-made payload, signed the way members sign theirs (for tests of malformed contents). */
function signed(o: Record<string, unknown>, pub: Buffer, now = NOW): Record<string, unknown> {
  const payload = { ...o, t: now };
  return { ...payload, s: xeddsaSign(privateOf(pub), Buffer.from(`wgp2p announcement v2\0${JSON.stringify(payload)}`)).toString('base64') };
}

const room = deriveRoom('office', 'correct horse battery staple');
const self = keyPair();
const NOW = Date.UTC(2026, 5, 1);

function body(over: Partial<AnnouncementBody> = {}): AnnouncementBody {
  return {
    publicKey: keyPair(),
    memberId: 'member-A',
    name: 'alice',
    address: '10.147.3.4',
    candidates: [
      { kind: 'lan', endpoint: makeEndpoint('10.1.0.2', 41000) },
      { kind: 'public', endpoint: makeEndpoint('203.0.113.101', 41000) },
      { kind: 'lan', endpoint: makeEndpoint('2001:db8::5', 41000) },
    ],
    nat: { mapping: 'endpoint-independent', filtering: 'port-dependent' },
    bounce: false,
    hub: false,
    ...over,
  };
}

t.test('sealed and opened: every field survives', async (t) => {
  const b = body();
  const opened = openAnnouncement(room, seal(room, b, NOW));
  t.ok(opened.ok);
  if (!opened.ok) return;
  t.strictSame({ ...opened.value, publicKey: opened.value.publicKey.toString('hex') }, { ...b, publicKey: b.publicKey.toString('hex'), issuedAt: NOW });
});

t.test('a bounce says so; anything but 1 in its flag is malformed', async (t) => {
  const opened = openAnnouncement(room, seal(room, body({ bounce: true }), NOW));
  t.ok(opened.ok && opened.value.bounce === true, 'bounce survives');
  const pub = keyPair();
  const payload = (b: unknown) => JSON.stringify(signed({ v: 2, k: pub.toString('base64'), m: 'member-A', n: 'alice', a: '10.147.3.4', c: [], nat: ['unknown', 'unknown'], b }, pub));
  for (const bad of [0, 2, true, 'yes']) {
    const r = openAnnouncement(room, sealForRoom(room, 'announce', Buffer.from(payload(bad)), NOW));
    t.same(r, { ok: false, reason: 'malformed' }, `b: ${JSON.stringify(bad)}`);
  }
  t.ok(openAnnouncement(room, sealForRoom(room, 'announce', Buffer.from(payload(1)), NOW)).ok, 'b: 1 accepted');
});

t.test('claim times (since when the address, the name and routes are held) are signed with the rest; anything but a whole ms count is malformed', async (t) => {
  for (const [field, wire] of [['addressSince', 'as'], ['claimsSince', 'cs']] as const) {
    const opened = openAnnouncement(room, seal(room, body({ [field]: NOW - 5_000 }), NOW));
    t.ok(opened.ok && opened.value[field] === NOW - 5_000, `${field} survives`);
    const pub = keyPair();
    const payload = (v: unknown) => JSON.stringify(signed({ v: 2, k: pub.toString('base64'), m: 'member-A', n: 'alice', a: '10.147.3.4', [wire]: v, c: [], nat: ['unknown', 'unknown'] }, pub));
    for (const bad of [-1, 1.5, '5', null, 2 ** 53]) {
      const r = openAnnouncement(room, sealForRoom(room, 'announce', Buffer.from(payload(bad)), NOW));
      t.same(r, { ok: false, reason: 'malformed' }, `${wire}: ${JSON.stringify(bad)}`);
    }
    // Backdating someone else's claim needs their signature: a changed time fails to verify.
    const blob = seal(room, body({ [field]: NOW }), NOW);
    const inner = JSON.parse(openSealed(blob).toString('utf8'));
    const moved = sealForRoom(room, 'announce', Buffer.from(JSON.stringify({ ...inner, [wire]: 1 })), NOW);
    t.same(openAnnouncement(room, moved), { ok: false, reason: 'bad_signature' });
  }
});

t.test('signed by the key it announces: the room secret alone cannot speak for another member', async (t) => {
  const victim = body();
  const mallory = keyPair();
  // Mallory holds the room secret and seals an announcement of the victim's key under her id.
  const forged = sealAnnouncement(room, { ...victim, memberId: 'member-M' }, privateOf(mallory), NOW);
  t.same(openAnnouncement(room, forged), { ok: false, reason: 'bad_signature' }, 'signed with another key: refused');
  // Or she re-seals the victim's own signed payload later (the room key opens it): the time is signed too.
  const genuine = seal(room, victim, NOW);
  const inner = JSON.parse(openSealed(genuine).toString()) as Record<string, unknown>;
  t.same(openAnnouncement(room, sealForRoom(room, 'announce', Buffer.from(JSON.stringify(inner)), NOW + 5_000)), { ok: false, reason: 'malformed' }, 're-sealed at another time: refused');
  const tampered = { ...inner, n: 'mallory' };
  t.same(openAnnouncement(room, sealForRoom(room, 'announce', Buffer.from(JSON.stringify(tampered)), NOW)), { ok: false, reason: 'bad_signature' }, 'a field changed after signing: refused');
  const unsigned: Record<string, unknown> = { ...inner };
  delete unsigned.s;
  t.same(openAnnouncement(room, sealForRoom(room, 'announce', Buffer.from(JSON.stringify(unsigned)), NOW)), { ok: false, reason: 'malformed' }, 'no signature: refused');
  t.ok(openAnnouncement(room, genuine).ok, 'the genuine one opens');
});

t.test('the guard refuses what does not verify, what is replayed and what is stale', async (t) => {
  const guard = new AnnouncementGuard(room, self);
  const b = body();
  const blob = seal(room, b, NOW);
  const reason = (id: string, x: string, now = NOW) => {
    const r = guard.check(id, x, now);
    return r.ok ? 'ok' : r.reason;
  };
  t.equal(reason('member-A', blob), 'ok', 'a fresh announcement under its own id');
  t.equal(reason('member-A', blob), 'ok', 'the same one again (a members list after reconnecting) is harmless');
  t.equal(reason('member-M', blob), 'wrong_member_id', 'replayed by another connection: refused');
  t.equal(reason('member-A', seal(deriveRoom('office', 'wrong secret!'), b, NOW)), 'does_not_verify', 'wrong secret');
  t.equal(reason('member-A', seal(deriveRoom('other room', 'correct horse battery staple'), b, NOW)), 'does_not_verify', 'another room');
  const raw = Buffer.from(blob, 'base64');
  raw[raw.length - 20]! ^= 1;
  t.equal(reason('member-A', raw.toString('base64')), 'does_not_verify', 'one flipped bit');
  t.equal(reason('member-A', 'not base64!'), 'does_not_verify');
  t.equal(reason('member-A', ''), 'does_not_verify');
  t.equal(reason('member-A', sealForRoom(room, 'message', Buffer.from('{}'), NOW)), 'does_not_verify', 'a directed message is not an announcement');

  const newer = seal(room, b, NOW + 1000);
  t.equal(reason('member-A', newer, NOW + 1000), 'ok', 'a newer one replaces it');
  t.equal(reason('member-A', blob, NOW + 1000), 'replayed', 'the older one cannot come back');
  t.equal(reason('member-A', seal(room, b, NOW + 1000), NOW + 1000), 'replayed', 'same time, different blob');
  t.equal(reason('member-B', seal(room, body({ memberId: 'member-B' }), NOW - 31 * 60_000)), 'stale');
  t.equal(reason('member-B', seal(room, body({ memberId: 'member-B' }), NOW + 6 * 60_000)), 'from_future');
  t.equal(reason('member-S', seal(room, body({ memberId: 'member-S', publicKey: self }), NOW)), 'own_key', 'our own key');
});

t.test('properly sealed but malformed contents are refused, never thrown', async (t) => {
  const guard = new AnnouncementGuard(room, self);
  const pub = keyPair();
  const good = { v: 2, k: pub.toString('base64'), m: 'member-A', n: 'alice', a: '10.147.3.4', c: [['lan', '10.1.0.2:41000']], nat: ['unknown', 'unknown'] };
  const cases: [string, unknown][] = [
    ['not JSON', 'garbage{'],
    ['an array', [1, 2]],
    ['version 1 (unsigned)', { ...good, v: 1 }],
    ['short key', { ...good, k: 'AAAA' }],
    ['bad member id', { ...good, m: 'a b' }],
    ['bad name', { ...good, n: '-x' }],
    ['name too long', { ...good, n: 'x'.repeat(64) }],
    ['IPv6 room address', { ...good, a: 'fd00::1' }],
    ['loopback candidate', { ...good, c: [['lan', '127.0.0.1:1']] }],
    ['multicast candidate', { ...good, c: [['public', '224.0.0.1:1']] }],
    ['our virtual relay endpoint (100::/64)', { ...good, c: [['public', '[100::1:2]:1']] }],
    ['discard prefix, long form', { ...good, c: [['public', '[100::ab:1:2:3]:1']] }],
    ['embedded IPv4 before ::', { ...good, c: [['public', '[1.2.3.4::]:1']] }],
    ['port 0', { ...good, c: [['lan', '10.0.0.1:0']] }],
    ['unknown kind', { ...good, c: [['relay', '10.0.0.1:1']] }],
    ['too many candidates', { ...good, c: Array.from({ length: 17 }, (_, i) => ['lan', `10.0.0.${i + 1}:1`]) }],
    ['bad nat', { ...good, nat: ['full-cone'] }],
    ['__proto__ pollution attempt', JSON.parse(`{"__proto__": {"polluted": 1}, "v": 1}`)],
  ];
  for (const [what, payload] of cases) {
    // Signed where possible, so each case is refused for its own defect, not for the signature.
    const text = typeof payload === 'string' ? payload : JSON.stringify(Array.isArray(payload) || what.startsWith('__proto__') ? payload : signed(payload as Record<string, unknown>, pub));
    const r = guard.check('member-A', sealForRoom(room, 'announce', Buffer.from(text), NOW), NOW);
    t.notOk(r.ok, `${what}: refused (${r.ok ? '' : r.reason})`);
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  t.ok(guard.check('member-A', sealForRoom(room, 'announce', Buffer.from(JSON.stringify(signed({ ...good, future: 'field' }, pub))), NOW), NOW).ok, 'unknown extra fields are ignored (and signed like the rest)');
  t.equal(parseCandidates([['lan', '[fe80::1]:5']]), undefined, 'link-local IPv6 refused');
  t.equal(parseCandidates([['lan', '[fe80::1%eth0]:5']]), undefined, 'zoned address refused');
  t.equal(parseCandidates([['public', '[100::1:2]:1']]), undefined, 'a relay virtual endpoint refused');
  t.ok(parseCandidates([['public', '[100:1::2]:1']]), 'outside 100::/64 is an ordinary address');
});

t.test('directed punch requests: bound to both ids, fresh, accepted once', async (t) => {
  const guard = new PeerMessageGuard(room, () => PK);
  const key = randomBytes(32);
  const msg = { publicKey: key, from: 'member-A', to: 'member-B', session: 's1', candidates: body().candidates, startInMs: 40 };
  const blob = sealPunchRequest(room, msg, PK, NOW);
  const r = guard.check('member-A', 'member-B', blob, NOW + 10);
  t.ok(r.ok, 'accepted');
  if (r.ok && r.value.kind === 'punch') {
    t.ok(r.value.publicKey.equals(key));
    t.equal(r.value.startInMs, 40);
    t.equal(r.value.candidates.length, 3);
  } else t.fail('a punch request');
  const why = (from: string, to: string, b: string, now = NOW) => {
    const x = guard.check(from, to, b, now);
    return x.ok ? 'ok' : x.reason;
  };
  t.equal(why('member-A', 'member-B', blob), 'replayed', 'a second delivery is a replay');
  t.equal(why('member-M', 'member-B', sealPunchRequest(room, msg, PK, NOW)), 'wrong_member_id', 'relayed by another sender');
  t.equal(why('member-A', 'member-C', sealPunchRequest(room, msg, PK, NOW)), 'wrong_member_id', 'meant for someone else');
  t.equal(why('member-A', 'member-B', sealPunchRequest(room, msg, PK, NOW - 120_000)), 'stale');
  t.equal(why('member-A', 'member-B', sealPunchRequest(deriveRoom('office', 'nope nope nope'), msg, PK, NOW)), 'does_not_verify');
  t.equal(why('member-A', 'member-B', seal(room, body(), NOW)), 'does_not_verify', 'an announcement is not a message');
  t.equal(why('member-A', 'member-B', sealForRoom(room, 'message', Buffer.from(JSON.stringify({ v: 2, t: 'punch', k: 'x' })), NOW)), 'malformed');
  t.equal(why('member-A', 'member-B', sealForRoom(room, 'message', Buffer.from(JSON.stringify({ v: 2, t: 'relay' })), NOW)), 'unknown_kind');
});

t.test('goodbyes: sealed, bound to both ids, accepted once', async (t) => {
  const guard = new PeerMessageGuard(room, () => PK);
  const key = randomBytes(32);
  const bye = sealBye(room, { publicKey: key, from: 'member-A', to: 'member-B' }, PK, NOW);
  const r = guard.check('member-A', 'member-B', bye, NOW);
  t.ok(r.ok && r.value.kind === 'bye' && r.value.publicKey.equals(key), 'accepted');
  t.notOk(guard.check('member-A', 'member-B', bye, NOW).ok, 'not twice');
  t.notOk(guard.check('member-M', 'member-B', sealBye(room, { publicKey: key, from: 'member-A', to: 'member-B' }, PK, NOW), NOW).ok, 'not relayed by another member');
  t.notOk(guard.check('member-A', 'member-B', sealBye(deriveRoom('office', 'guessed secret'), { publicKey: key, from: 'member-A', to: 'member-B' }, PK, NOW), NOW).ok, 'not forged');
  const why = (b: string) => {
    const x = guard.check('member-A', 'member-B', b, NOW);
    return x.ok ? 'ok' : x.reason;
  };
  t.equal(why(sealBye(room, { publicKey: key, from: 'member-A', to: 'member-B' }, randomBytes(32), NOW)), 'bad_mac', 'not with the room key and another pair key (a third member)');
  // A member can open and re-seal what it got: a new time, or no MAC, does not pass.
  const inner = JSON.parse(Buffer.from(openForRoom(room, 'message', sealBye(room, { publicKey: key, from: 'member-A', to: 'member-B' }, PK, NOW - 5))!.payload).toString('utf8'));
  t.equal(why(sealForRoom(room, 'message', Buffer.from(JSON.stringify(inner)), NOW)), 'malformed', 're-sealed at another time');
  t.equal(why(sealForRoom(room, 'message', Buffer.from(JSON.stringify({ ...inner, at: NOW })), NOW)), 'bad_mac', 're-sealed with its time changed');
  const { mac: _mac, ...bare } = inner;
  t.equal(why(sealForRoom(room, 'message', Buffer.from(JSON.stringify(bare)), NOW - 5)), 'malformed', 'without a MAC');
});

t.test('a flooding member cannot grow the replay memory or stall the guard; others still get through', async (t) => {
  const flooder = randomBytes(32);
  const friend = randomBytes(32);
  const members = new Map([['member-F', flooder], ['member-A', friend]]);
  const guard = new PeerMessageGuard(room, (id, key) => (members.get(id)?.equals(key) ? PK : undefined));
  const FLOOD = 100_000;
  let accepted = 0;
  let maxSize = 0;
  for (let i = 0; i < FLOOD; i++) {
    // Fresh, distinct and properly sealed: only a member with the room secret can send these.
    const r = guard.check('member-F', 'member-B', sealBye(room, { publicKey: flooder, from: 'member-F', to: 'member-B' }, PK, NOW), NOW + i);
    if (r.ok) accepted++;
    maxSize = Math.max(maxSize, guard.size);
    if (maxSize > MAX_SEEN_PER_MEMBER * 2) break; // the bug: fail fast instead of grinding on
  }
  t.ok(maxSize <= MAX_SEEN_PER_MEMBER, `replay memory stays bounded (peak ${maxSize})`);
  t.ok(accepted < FLOOD / 10, `most of the flood is refused (${accepted} accepted)`);
  const legit = guard.check('member-A', 'member-B', sealBye(room, { publicKey: friend, from: 'member-A', to: 'member-B' }, PK, NOW + FLOOD), NOW + FLOOD);
  t.ok(legit.ok, 'another member\'s message still passes after the flood');
  // A sender that is not a member (or under another key) leaves nothing behind.
  const before = guard.size;
  for (let i = 0; i < 1000; i++) guard.check('member-X', 'member-B', sealBye(room, { publicKey: randomBytes(32), from: 'member-X', to: 'member-B' }, PK, NOW), NOW);
  const r = guard.check('member-A', 'member-B', sealBye(room, { publicKey: flooder, from: 'member-A', to: 'member-B' }, PK, NOW), NOW);
  t.equal(r.ok ? 'ok' : r.reason, 'unknown_member', 'a key that is not the sender\'s is refused');
  t.equal(guard.size, before, 'non-members add no entries');
});
