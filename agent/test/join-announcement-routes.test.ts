// Routes and exit-node offers in announcements: they survive sealing, are refused unless
// canonical and bounded, and an insider cannot put routes in another member's mouth (the
// announcement is signed by the member's own key); a refused one is counted like a forged one.
import t from 'tap';
import { deriveRoom, sealForRoom } from '../../shared/signal/room-key.js';
import { openAnnouncement, sealAnnouncement, type AnnouncementBody } from '../join/room/announcement.js';
import { xeddsaSign } from '../join/identity/xeddsa.js';
import { PrivateKey } from '../wireguard/crypto.js';
import { MAX_ANNOUNCED_ROUTES, parseAdvertisedRoutes } from '../join/routes/route-prefix.js';
import { JoinNet } from './fixtures/join-net.js';

const room = deriveRoom('office', 'correct horse battery staple');
const NOW = Date.UTC(2026, 5, 1);
const alice = PrivateKey.generate();

function body(over: Partial<AnnouncementBody> = {}): AnnouncementBody {
  return { publicKey: alice.publicKey, memberId: 'member-A', name: 'alice', address: '10.147.3.4', candidates: [], nat: { mapping: 'unknown', filtering: 'unknown' }, ...over };
}

/** A hand-made payload with route list `r`, properly signed by alice. */
function withRoutes(r: unknown, extra: Record<string, unknown> = {}): string {
  const payload = { v: 2, k: alice.publicKey.toString('base64'), m: 'member-A', n: 'alice', a: '10.147.3.4', c: [], nat: ['unknown', 'unknown'], r, ...extra, t: NOW };
  const s = xeddsaSign(alice.raw, Buffer.from(`wgp2p announcement v2\0${JSON.stringify(payload)}`)).toString('base64');
  return sealForRoom(room, 'announce', Buffer.from(JSON.stringify({ ...payload, s })), NOW);
}

t.test('routes and the exit-node offer survive sealing', async (t) => {
  const r = openAnnouncement(room, sealAnnouncement(room, body({ routes: ['192.168.1.0/24', '10.9.0.0/16'], exitNode: true }), alice.raw, NOW));
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(r.value.routes, ['192.168.1.0/24', '10.9.0.0/16']);
  t.equal(r.value.exitNode, true);
  const plain = openAnnouncement(room, sealAnnouncement(room, body(), alice.raw, NOW));
  t.ok(plain.ok && plain.value.routes === undefined && plain.value.exitNode === undefined, 'none announced: none read');
  const six = openAnnouncement(room, sealAnnouncement(room, body({ exitNode: true, exitNode6: true }), alice.raw, NOW));
  t.ok(six.ok && six.value.exitNode && six.value.exitNode6 === true, 'the exit node\'s IPv6 offer survives too');
  const alone = openAnnouncement(room, sealAnnouncement(room, body({ exitNode6: true }), alice.raw, NOW));
  t.ok(alone.ok && alone.value.exitNode6 === undefined, 'an IPv6 offer without an exit offer is not sent');
});

t.test('a route list that is not canonical, distinct CIDRs within the bound is refused', async (t) => {
  const bad: [string, unknown][] = [
    ['host bits set', ['192.168.1.1/24']],
    ['no prefix length', ['192.168.1.0']],
    ['IPv6 host bits set', ['2001:db8:1::1/64']],
    ['IPv6 not in RFC 5952 text', ['2001:DB8:1:0::/64']],
    ['IPv6 prefix too long', ['2001:db8::/129']],
    ['leading zeros', ['192.168.01.0/24']],
    ['a number', [42]],
    ['a duplicate', ['10.0.0.0/8', '10.0.0.0/8']],
    ['empty', []],
    ['not a list', '10.0.0.0/8'],
    ['too many', Array.from({ length: MAX_ANNOUNCED_ROUTES + 1 }, (_, i) => `10.${i}.0.0/16`)],
    ['prefix too long', ['10.0.0.0/33']],
  ];
  for (const [what, r] of bad) t.same(openAnnouncement(room, withRoutes(r)), { ok: false, reason: 'bad_routes' }, what);
  t.same(openAnnouncement(room, withRoutes(['10.0.0.0/8'], { x: 2 })), { ok: false, reason: 'malformed' }, 'x: 2');
  t.same(openAnnouncement(room, withRoutes(['10.0.0.0/8'], { x: 1, x6: true })), { ok: false, reason: 'malformed' }, 'x6: true');
  const x6Alone = openAnnouncement(room, withRoutes(['10.0.0.0/8'], { x6: 1 }));
  t.ok(x6Alone.ok && x6Alone.value.exitNode6 === undefined, 'x6 without x offers nothing');
  const ok = openAnnouncement(room, withRoutes(['10.0.0.0/8'], { x: 1 }));
  t.ok(ok.ok && ok.value.exitNode === true && ok.value.routes?.[0] === '10.0.0.0/8', 'a valid list with x: 1 opens');
  const v6 = openAnnouncement(room, withRoutes(['10.0.0.0/8', '2001:db8:1::/64', 'fd00:1111:2222:3333:4444:5555:6666:7700/120']));
  t.ok(v6.ok && v6.value.routes?.length === 3, 'IPv6 prefixes in canonical text open, up to the longest text');
});

t.test('an insider cannot announce routes for another member, and a refused list is counted like a forgery', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const a = await net.add('a');
  const b = await net.add('b', { agent: { routes: { accept: true } } });
  const x = await net.add('x');
  await net.until(() => b.agent.members.size === 2 && a.agent.members.size === 2, 10_000);
  const aAtB = b.agent.members.get(a.key.publicKey)!;
  // x holds the room secret: it seals a's identity with a route, signed with its own key.
  const forged = sealAnnouncement(net.room, { publicKey: a.key.publicKey, memberId: aAtB.memberId, name: 'a', address: aAtB.address, candidates: aAtB.candidates, nat: aAtB.nat, routes: ['192.0.2.0/24'] }, x.key.raw, net.clock.wallNow());
  t.equal(b.agent.lifecycle.onAnnouncement(aAtB.memberId, forged), undefined, 'the forged announcement is refused');
  t.equal(b.agent.counters.get('announce_rejected_bad_signature'), 1);
  t.same(b.agent.members.get(a.key.publicKey)!.routes, [], "a's routes are unchanged");
  // x's own announcement with a malformed list, properly signed by x.
  const xAtB = b.agent.members.get(x.key.publicKey)!;
  const invalid = sealAnnouncement(net.room, { publicKey: x.key.publicKey, memberId: xAtB.memberId, name: 'x', address: xAtB.address, candidates: xAtB.candidates, nat: xAtB.nat, routes: ['192.0.2.7/24'] }, x.key.raw, net.clock.wallNow());
  const before = b.agent.counters.get('announce_rejected') ?? 0;
  t.equal(b.agent.lifecycle.onAnnouncement(xAtB.memberId, invalid), undefined, 'a non-canonical list is refused');
  t.equal(b.agent.counters.get('announce_rejected'), before + 1, 'counted with the rejected announcements');
  t.equal(b.agent.counters.get('announce_rejected_bad_routes'), 1);
  t.equal(b.device.allowedIps.lookup(4, Buffer.from([192, 0, 2, 7])), undefined, 'nothing routed for it');
});

t.test('--advertise-routes: IPv4 and IPv6 prefixes outside special space, or a clear error', async (t) => {
  t.same(parseAdvertisedRoutes('192.168.1.0/24, 10.9.0.0/16,192.168.1.0/24'), ['192.168.1.0/24', '10.9.0.0/16']);
  t.throws(() => parseAdvertisedRoutes('192.168.1.1/24'), /host bits are set \(did you mean 192\.168\.1\.0\/24\?\)/);
  t.throws(() => parseAdvertisedRoutes('0.0.0.0/0'), /--advertise-exit-node/);
  t.throws(() => parseAdvertisedRoutes('127.0.0.0/8'), /loopback/);
  t.throws(() => parseAdvertisedRoutes('169.254.0.0/16'), /link-local/);
  t.throws(() => parseAdvertisedRoutes('239.1.0.0/16'), /multicast/);
  t.same(parseAdvertisedRoutes('2001:DB8:1:0::/64,fd00:9::/48,2001:db8:1::/64'), ['2001:db8:1::/64', 'fd00:9::/48'], 'IPv6, announced in canonical text');
  t.throws(() => parseAdvertisedRoutes('2001:db8:1::1/64'), /host bits are set \(did you mean 2001:db8:1::\/64\?\)/);
  t.throws(() => parseAdvertisedRoutes('::/0'), /--advertise-exit-node/);
  t.throws(() => parseAdvertisedRoutes('::/128'), /unspecified/);
  t.throws(() => parseAdvertisedRoutes('::1/128'), /loopback/);
  t.throws(() => parseAdvertisedRoutes('fe80::/64'), /link-local/);
  t.throws(() => parseAdvertisedRoutes('fe80::/9'), /link-local/, 'a prefix around link-local space');
  t.throws(() => parseAdvertisedRoutes('ff02::/16'), /multicast/);
  t.throws(() => parseAdvertisedRoutes('::ffff:10.0.0.0/104'), /IPv4-mapped/);
  t.throws(() => parseAdvertisedRoutes('10.0.0.1'), /not a prefix/);
  t.throws(() => parseAdvertisedRoutes('2001:db8::1'), /not a prefix/);
  t.throws(() => parseAdvertisedRoutes(''), /CIDR/);
});
