// Birthday punching only toward an address the signal server saw the member at
// (paths/direct/birthday-attest.ts): insiders announcing a third party's address as their public
// one, on JoinNet, against the easy side and against the hard side; honest pairs, including a
// carrier-grade NAT whose TCP leaves from another address; and a server from before attestation.
import t, { type Test } from 'tap';
import { attestTarget, sameHost, ServerSeen } from '../join/paths/direct/birthday-attest.js';
import { DEFAULT_BIRTHDAY_TIMING } from '../join/paths/direct/birthday.js';
import type { NatInfo } from '../join/room/announcement.js';
import type { Candidate } from '../join/nat/candidates.js';
import { makeEndpoint } from '../../shared/net/address.js';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';
import { reaches } from './fixtures/join-reach.js';

const SYM: NatInfo = { mapping: 'endpoint-dependent', filtering: 'port-dependent' };
const PR: NatInfo = { mapping: 'endpoint-independent', filtering: 'port-dependent' };
const T = DEFAULT_BIRTHDAY_TIMING;
/** Nobody's address on the fake internet: the third party insiders aim at. */
const VICTIM = '203.0.113.250';
const ANNOUNCED_PORT = 40_000;
/** JoinNet's extra sockets (birthday's hard side) bind from this port up. */
const EXTRA_PORT_BASE = 52_000;

const pub = (address: string, port = 1): Candidate => ({ kind: 'public', endpoint: makeEndpoint(address, port) });

t.test('the rule: IPv4 exactly, IPv6 to the /64; silence is unattested', async (t) => {
  t.ok(sameHost('203.0.113.7', '203.0.113.7'));
  t.notOk(sameHost('203.0.113.7', '203.0.113.8'), 'a neighbour is another host');
  t.ok(sameHost('::ffff:203.0.113.7', '203.0.113.7'), 'an IPv4-mapped address is the IPv4 address');
  t.ok(sameHost('2001:db8:1:2::1', '2001:db8:1:2:aaaa::9'), 'one IPv6 /64');
  t.notOk(sameHost('2001:db8:1:2::1', '2001:db8:1:3::1'), 'the next /64 is not');
  t.same(attestTarget([], '203.0.113.7', true), { verdict: 'none' });
  t.same(attestTarget([{ kind: 'lan', endpoint: makeEndpoint('192.168.1.2', 1) }], undefined, false), { verdict: 'none' }, 'only public candidates are targets');
  t.same(attestTarget([pub('203.0.113.7')], '203.0.113.7', true), { verdict: 'attested', target: makeEndpoint('203.0.113.7', 1) });
  t.same(attestTarget([pub('203.0.113.7')], undefined, false), { verdict: 'unattested', target: makeEndpoint('203.0.113.7', 1) }, 'an older server says nothing');
  t.same(attestTarget([pub(VICTIM)], undefined, true), { verdict: 'refused', announced: makeEndpoint(VICTIM, 1), seen: undefined }, 'a server that attests but says nothing of this member (it no longer lists it)');
  t.same(attestTarget([pub(VICTIM)], '203.0.113.7', true), { verdict: 'refused', announced: makeEndpoint(VICTIM, 1), seen: '203.0.113.7' });
  t.same(attestTarget([pub('2001:db8:1:2::1'), pub('203.0.113.7')], '203.0.113.7', true), { verdict: 'attested', target: makeEndpoint('203.0.113.7', 1) }, 'the public candidate the server saw, not merely the first');
  const seen = new ServerSeen();
  seen.list([{ id: 'b' }]);
  t.notOk(seen.attests(), 'no seen yet: an older server as far as we know');
  seen.list([{ id: 'a', seen: '203.0.113.7' }, { id: 'b' }]);
  t.ok(seen.attests(), 'this server attests');
  seen.record('c', '198.51.100.9');
  t.same([seen.get('a'), seen.get('b'), seen.get('c')], ['203.0.113.7', undefined, '198.51.100.9']);
  seen.forget('a');
  seen.list([{ id: 'b', seen: '2001:db8::1' }]);
  t.same([seen.get('a'), seen.get('b'), seen.get('c')], [undefined, '2001:db8::1', undefined], 'a new list replaces the old one');
  seen.list([]);
  t.ok(seen.attests(), 'and silence later is no downgrade');
});

interface Aim {
  /** What the insiders say their NAT is: SYM aims the easy side's probes, PR the hard side's sockets. */
  nat: NatInfo;
  insiders: number;
  /** The server tells members where it sees each other (false: a server from before). */
  attest: boolean;
}

/**
 * Modified agents (they hold the room secret) announce the third party's address as their own
 * public one, with `o.nat`, to a member behind the NAT birthday punching pairs them with; counts
 * the birthday datagrams that member sends the third party over `ms` of fake time.
 */
async function aimAtThirdParty(t: Test, o: Aim, ms: number) {
  const net = new JoinNet(`birthday-aim-${o.attest}`, { natDiscovery: true, seed: 9, attest: o.attest });
  t.teardown(() => net.closeAll());
  const easyAims = o.nat === SYM;
  // Birthday datagrams: the easy side's to random ports (the ordinary finder probes the announced
  // port, capped by its own rule), the hard side's from its extra sockets.
  const sent = { probes: 0 };
  const target = await net.add('target', { nat: easyAims ? 'eim' : 'symmetric-random' });
  net.dropOutbound = (inside, to) => {
    if (to.address === VICTIM && inside.address === target.inside.address && (easyAims ? to.port !== ANNOUNCED_PORT : inside.port >= EXTRA_PORT_BASE)) sent.probes++;
    return false;
  };
  const insiders: JoinNode[] = [];
  for (let i = 0; i < o.insiders; i++) {
    insiders.push(await net.add(`x${i}`, { nat: 'eim' }));
    net.cut('target', `x${i}`); // no direct path: the pairs are relayed, as a birthday pair is
  }
  await net.until(() => target.agent.local.nat.mapping !== 'unknown' && target.agent.local.nat.filtering !== 'unknown' && insiders.every((x) => x.agent.local.nat.mapping !== 'unknown'), 5_000);
  for (const x of insiders) {
    Object.defineProperty(x.agent.local, 'nat', { get: () => o.nat, set: () => undefined });
    x.agent.local.list = () => [{ kind: 'public', endpoint: makeEndpoint(VICTIM, ANNOUNCED_PORT) }];
    x.agent.signalling.announceUpdate();
  }
  await net.until(() => target.agent.members.all().filter((m) => m.nat.mapping === o.nat.mapping && m.nat.filtering === o.nat.filtering).length === o.insiders, 5_000);
  sent.probes = 0;
  const start = net.clock.now();
  await net.run(ms, 100);
  const attempts = target.agent.members.all().map((m) => target.agent.birthday.report(m, net.clock.now())?.attempts ?? 0);
  return { net, target, insiders, sent, probes: sent.probes, elapsed: net.clock.now() - start, attempts, counter: (name: string) => target.agent.counters.get(name) ?? 0 };
}

t.test('easy side: insiders announcing a third party\'s address as their symmetric NAT\'s get no probes sent there', async (t) => {
  const r = await aimAtThirdParty(t, { nat: SYM, insiders: 4, attest: true }, 10 * 60_000);
  t.equal(r.probes, 0, `no birthday probe to the third party in 10 min (${r.probes}; 40,000 before any limit, 7,657 under the per-address budget alone)`);
  t.same(r.attempts, [0, 0, 0, 0], 'no attempt was made');
  t.equal(r.counter('birthday_refused_unattested'), 4, 'each refusal counted once');
  t.equal(r.counter('birthday_unattested'), 0);
  // Their connections drop: the server no longer lists them, and says nothing of where it sees
  // them, while the easy side keeps them as orphans for a grace period.
  for (const x of r.insiders) x.signal.kill();
  await r.net.run(40_000, 100);
  t.equal(r.sent.probes, 0, 'nor once the server stopped listing them (orphans)');
  t.equal(r.counter('birthday_unattested'), 0, 'an attesting server\'s silence is not an older server\'s');
});

t.test('hard side: an insider announcing a third party\'s address as its port-restricted NAT\'s gets no sockets aimed there', async (t) => {
  const r = await aimAtThirdParty(t, { nat: PR, insiders: 1, attest: true }, 60_000);
  t.equal(r.probes, 0, `nothing from the extra sockets to the third party in 1 min (${r.probes}; 256 sockets resending every 2 s before)`);
  t.equal(r.target.agent.sockets!.size, 0, 'no extra socket opened');
  t.equal(r.counter('birthday_refused_unattested'), 1);
});

t.test('a server from before attestation: birthday punching as before, counted unattested, within the per-address budget', async (t) => {
  const r = await aimAtThirdParty(t, { nat: SYM, insiders: 4, attest: false }, 10 * 60_000);
  t.ok(r.attempts.every((n) => n >= 2), `attempts were made (${r.attempts.join(', ')})`);
  const bound = T.addressProbeBurst + (T.maxProbes * r.elapsed) / T.addressProbeRefillMs;
  t.ok(r.probes > 0, `the easy side did try (${r.probes} probes)`);
  t.ok(r.probes <= bound, `${r.probes} probes in ${r.elapsed / 60_000} min to the third party, within its budget of ${bound} (without it: 4 insiders × 2,000 per attempt, 40,000)`);
  t.equal(r.counter('birthday_unattested'), 4, 'each pair counted once as unattested');
  t.equal(r.counter('birthday_refused_unattested'), 0);
});

/** An honest symmetric × port-restricted pair; the hard side's signalling may leave from another address. */
async function honestPair(t: Test, o: { serverRelay: boolean; signalIp?: string }) {
  const net = new JoinNet(`birthday-honest-${o.serverRelay}`, { natDiscovery: true, seed: 42, serverRelay: o.serverRelay });
  t.teardown(() => net.closeAll());
  const hard = await net.add('hard', { nat: 'symmetric-random', ...(o.signalIp && { signalIp: o.signalIp }) });
  const easy = await net.add('easy', { nat: 'eim' });
  const mh = () => easy.agent.members.get(hard.key.publicKey);
  const me = () => hard.agent.members.get(easy.key.publicKey);
  const direct = () => !!mh() && !!me() && hard.agent.arbiters.route(me()!) === 'direct' && easy.agent.arbiters.route(mh()!) === 'direct';
  return { net, hard, easy, mh, me, direct };
}

t.test('carrier-grade NAT whose TCP leaves from another address: the UDP relay binding attests, the pair goes direct', async (t) => {
  const p = await honestPair(t, { serverRelay: true, signalIp: '198.51.100.77' });
  const took = await p.net.until(p.direct, 40_000);
  t.ok(took >= 0, `direct both ways after ${took} ms of fake time`);
  await p.net.run(500);
  t.equal(p.hard.agent.sockets!.size, 1, 'by birthday punching (one extra socket kept)');
  t.ok(await reaches(p.net, p.easy, p.hard));
  t.equal(p.easy.agent.birthday.report(p.mh()!, p.net.clock.now())?.state, 'succeeded');
});

t.test('residual: the same NAT with a server that relays no UDP is seen at its TCP address only; birthday punching is refused', async (t) => {
  const p = await honestPair(t, { serverRelay: false, signalIp: '198.51.100.77' });
  await p.net.run(40_000, 50);
  t.notOk(p.direct(), 'no direct path');
  t.equal(p.easy.agent.counters.get('birthday_refused_unattested'), 1, 'the easy side counted its refusal');
  t.equal(p.hard.agent.counters.get('birthday_refused_unattested') ?? 0, 0, 'the hard side sees the easy side where it announces itself');
  t.equal(p.easy.agent.birthday.report(p.mh()!, p.net.clock.now())?.attempts, 0);
  t.match(p.easy.agent.control.whyRelayed(p.mh()!).reason, `birthday punching refused: it announces ${p.hard.nat.publicIp}, the signal server sees it at 198.51.100.77`, 'why relayed says so');
});
