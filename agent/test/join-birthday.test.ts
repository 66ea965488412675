// Birthday punching: the plan (paths/direct/birthday.ts) with fake time and a seeded random, and
// whole agents on JoinNet with a symmetric NAT that picks random ports against a port-restricted one.
import t from 'tap';
import { BirthdayPlan, birthdayRole, DEFAULT_BIRTHDAY_TIMING, type BirthdayAction } from '../join/paths/direct/birthday.js';
import { isSocketEndpoint } from '../join/paths/direct/extra-sockets.js';
import { isRelayEndpoint } from '../join/paths/relay/relay-endpoint.js';
import type { NatInfo } from '../join/room/announcement.js';
import { JoinNet, seededRandom } from './fixtures/join-net.js';
import { peer, reaches } from './fixtures/join-reach.js';

const SYM: NatInfo = { mapping: 'endpoint-dependent', filtering: 'port-dependent' };
const PR: NatInfo = { mapping: 'endpoint-independent', filtering: 'port-dependent' };
const CONE: NatInfo = { mapping: 'endpoint-independent', filtering: 'port-independent' };
const T = DEFAULT_BIRTHDAY_TIMING;

t.test('roles: only a per-destination mapper against a port-restricted NAT', async (t) => {
  t.equal(birthdayRole(SYM, PR), 'hard');
  t.equal(birthdayRole(PR, SYM), 'easy');
  t.equal(birthdayRole(SYM, SYM), undefined, 'symmetric × symmetric: hopeless');
  t.equal(birthdayRole(SYM, CONE), undefined, 'a cone NAT lets ordinary punching work');
  t.equal(birthdayRole(PR, PR), undefined);
  t.equal(birthdayRole({ mapping: 'unknown', filtering: 'unknown' }, SYM), undefined);
});

function run(plan: BirthdayPlan, from: number, to: number, step: number, wanted = true, direct = () => false): { at: number; a: BirthdayAction }[] {
  const out: { at: number; a: BirthdayAction }[] = [];
  for (let now = from; now <= to; now += step) for (const a of plan.tick(now, wanted, direct())) out.push({ at: now, a });
  return out;
}

t.test('the easy side: at most 2,000 distinct random ports, evenly paced over 20 s, then backoff', async (t) => {
  const plan = new BirthdayPlan('easy', T, seededRandom(7));
  const acts = run(plan, 0, 25_000, 20);
  const probes = acts.flatMap((x) => (x.a.type === 'probe' ? x.a.ports.map((p) => ({ at: x.at, p })) : []));
  t.equal(probes.length, T.maxProbes, 'exactly the cap');
  t.equal(new Set(probes.map((x) => x.p)).size, T.maxProbes, 'no port twice');
  t.ok(probes.every((x) => x.p >= 1024 && x.p <= 65535), 'in the NAT port range');
  const first = probes[0]!.at;
  const last = probes[probes.length - 1]!.at;
  t.equal(first, T.startDelayMs + T.easyDelayMs, 'starts after the start delay and the easy delay');
  t.ok(last - T.startDelayMs <= T.windowMs, 'within the window');
  // Paced: no second holds more than its share (+ one tick's worth).
  const perSecond = new Map<number, number>();
  for (const x of probes) perSecond.set(Math.floor(x.at / 1000), (perSecond.get(Math.floor(x.at / 1000)) ?? 0) + 1);
  t.ok(Math.max(...perSecond.values()) <= Math.ceil(T.maxProbes / ((T.windowMs - T.easyDelayMs - 1_000) / 1000)) + 2, `paced: at most ${Math.max(...perSecond.values())}/s`);
  const ends = acts.filter((x) => x.a.type === 'end');
  t.same(ends.map((x) => x.a), [{ type: 'end', won: false }]);
  t.equal(ends[0]!.at, T.startDelayMs + T.windowMs);
  const r = plan.report(25_000, 0);
  t.equal(r.state, 'pending');
  t.equal(r.attempts, 1);
  t.equal(r.retryInMs, T.startDelayMs + T.windowMs + T.backoffFirstMs - 25_000, 'backoff after the failure');
  // Nothing during the backoff; the second attempt after it.
  const again = run(plan, 25_020, T.startDelayMs + T.windowMs + T.backoffFirstMs + 1_000, 20);
  const firstAgain = again.find((x) => x.a.type === 'probe');
  t.ok(firstAgain && firstAgain.at >= T.startDelayMs + T.windowMs + T.backoffFirstMs, 'second attempt waits for the backoff');
});

t.test('the hard side: opens the sockets once, resends every 2 s, stops on success', async (t) => {
  const plan = new BirthdayPlan('hard', T, seededRandom(1));
  let direct = false;
  const acts = run(plan, 0, 6_000, 20, true, () => direct);
  t.same(acts.filter((x) => x.a.type === 'open').map((x) => [x.at, x.a]), [[T.startDelayMs, { type: 'open', count: 256 }]]);
  t.equal(acts.filter((x) => x.a.type === 'resend').length, 2, 'resends at 3 s and 5 s');
  t.equal(plan.report(6_000, 256).state, 'running');
  t.equal(plan.report(6_000, 256).sockets, 256);
  direct = true;
  const end = run(plan, 6_020, 6_040, 20, true, () => direct);
  t.same(end.map((x) => x.a), [{ type: 'end', won: true }]);
  t.equal(plan.report(6_100, 1).state, 'succeeded');
  t.same(run(plan, 6_060, 60_000, 20, true, () => direct), [], 'nothing while direct');
});

t.test('one attempt at a time; it ends when no longer wanted; backoff doubles up to the cap', async (t) => {
  const plan = new BirthdayPlan('hard', { ...T, backoffFirstMs: 1_000, backoffMaxMs: 3_000 }, seededRandom(1));
  const opens: number[] = [];
  for (let now = 0; now < 120_000; now += 20) for (const a of plan.tick(now, true, false)) if (a.type === 'open') opens.push(now);
  const gaps = opens.slice(1).map((x, i) => x - opens[i]! - T.windowMs);
  t.same(gaps.slice(0, 3), [1_000, 2_000, 3_000], 'doubling backoff, capped');
  const p2 = new BirthdayPlan('easy', T, seededRandom(1));
  run(p2, 0, 2_000, 20);
  t.same(p2.tick(2_020, false, false), [{ type: 'end', won: false }], 'the member went away or lost its address');
});

// --- whole agents -------------------------------------------------------------------------------

t.test('JoinNet: symmetric (random ports) × port-restricted goes direct by birthday punching, on the same session', async (t) => {
  const net = new JoinNet('birthday', { natDiscovery: true, seed: 42 });
  t.teardown(() => net.closeAll());
  const hard = await net.add('hard', { nat: 'symmetric-random' });
  const easy = await net.add('easy', { nat: 'eim' });
  await net.until(() => hard.agent.local.nat.mapping !== 'unknown' && easy.agent.local.nat.filtering !== 'unknown', 5_000);
  t.equal(hard.agent.local.nat.mapping, 'endpoint-dependent', 'the hard side discovered its NAT');
  t.equal(easy.agent.local.nat.filtering, 'port-dependent');
  const mh = () => easy.agent.members.get(hard.key.publicKey);
  const me = () => hard.agent.members.get(easy.key.publicKey);
  t.ok((await net.until(() => !!mh() && !!me() && hard.agent.arbiters.route(me()!) === 'relay' && easy.agent.arbiters.route(mh()!) === 'relay', 10_000)) >= 0, 'relayed first');
  t.ok(await reaches(net, hard, easy), 'traffic through the relay');
  const session = peer(hard, easy)!.current!.localIndex;
  const took = await net.until(() => hard.agent.arbiters.route(me()!) === 'direct' && easy.agent.arbiters.route(mh()!) === 'direct', 30_000);
  t.ok(took >= 0 && took <= 25_000, `direct both ways after ${took} ms of fake time`);
  await net.run(500);
  const ep = peer(hard, easy)!.endpoint!;
  t.ok(isSocketEndpoint(ep), 'the hard side sends through an extra socket');
  t.notOk(isRelayEndpoint(peer(easy, hard)!.endpoint!), 'the easy side points at the hard NAT\'s port');
  t.equal(hard.agent.sockets!.size, 1, 'the other extra sockets are closed');
  t.ok(await reaches(net, hard, easy), 'hard reaches easy direct');
  t.ok(await reaches(net, easy, hard), 'easy reaches hard direct');
  t.equal(peer(hard, easy)!.current!.localIndex, session, 'no new handshake');
  t.equal(hard.agent.birthday.report(me()!, net.clock.now())?.state, 'succeeded');
  // The mapping stays: a while later the path is still direct.
  await net.run(30_000, 50);
  t.equal(hard.agent.arbiters.route(me()!), 'direct', 'still direct 30 s later');
  t.ok(await reaches(net, easy, hard));
});

t.test('JoinNet: symmetric × symmetric stays relayed, no sockets, and says why', async (t) => {
  const net = new JoinNet('birthday-hopeless', { natDiscovery: true, seed: 3 });
  t.teardown(() => net.closeAll());
  const a = await net.add('a', { nat: 'symmetric-random' });
  const b = await net.add('b', { nat: 'symmetric-random' });
  const mb = () => a.agent.members.get(b.key.publicKey);
  t.ok((await net.until(() => !!mb() && a.agent.arbiters.route(mb()!) === 'relay', 10_000)) >= 0);
  await net.run(25_000, 50);
  t.equal(a.agent.arbiters.route(mb()!), 'relay');
  t.equal(a.agent.sockets!.size, 0, 'no extra sockets');
  const why = a.agent.control.whyRelayed(mb()!);
  t.equal(why.code, 'symmetric-both');
  t.match(why.hint, /no direct path possible without port mapping/);
  t.equal(why.birthday.state, 'not-applicable');
});

t.test('JoinNet: when the probes cannot get through, the attempt fails, the sockets close and it backs off', async (t) => {
  const net = new JoinNet('birthday-blocked', { natDiscovery: true, seed: 5 });
  t.teardown(() => net.closeAll());
  const hard = await net.add('hard', { nat: 'symmetric-random' });
  const easy = await net.add('easy', { nat: 'eim' });
  // The easy side's random probes never leave (a firewall): no hit is possible.
  net.dropOutbound = (inside, to) => inside.address === easy.inside.address && to.address === hard.nat.publicIp;
  const me = () => hard.agent.members.get(easy.key.publicKey);
  t.ok((await net.until(() => !!me() && hard.agent.birthday.report(me()!, net.clock.now())?.state === 'running', 10_000)) >= 0, 'an attempt runs');
  await net.run(1_000);
  t.equal(hard.agent.sockets!.size, 256, '256 extra sockets open');
  t.ok((await net.until(() => hard.agent.birthday.report(me()!, net.clock.now())?.state === 'pending', 25_000)) >= 0, 'the attempt ends');
  t.equal(hard.agent.sockets!.size, 0, 'every extra socket closed');
  const r = hard.agent.birthday.report(me()!, net.clock.now())!;
  t.equal(r.attempts, 1);
  t.ok(r.retryInMs! > 25_000, `backing off (${r.retryInMs} ms)`);
  t.equal(hard.agent.arbiters.route(me()!), 'relay', 'still relayed');
  t.match(hard.agent.control.whyRelayed(me()!).reason, /birthday punching failed 1×/);
});

t.test('JoinNet: --no-birthday leaves such a pair relayed, with no extra sockets', async (t) => {
  const net = new JoinNet('birthday-off', { natDiscovery: true, seed: 42 });
  t.teardown(() => net.closeAll());
  const hard = await net.add('hard', { nat: 'symmetric-random', agent: { birthday: false } });
  const easy = await net.add('easy', { nat: 'eim', agent: { birthday: false } });
  const me = () => hard.agent.members.get(easy.key.publicKey);
  t.ok((await net.until(() => !!me() && hard.agent.arbiters.route(me()!) === 'relay', 10_000)) >= 0);
  await net.run(25_000, 50);
  t.equal(hard.agent.arbiters.route(me()!), 'relay', 'still relayed');
  t.equal(hard.agent.sockets!.size, 0, 'no extra sockets');
  t.equal(hard.agent.control.whyRelayed(me()!).code, 'symmetric-vs-port-restricted');
});
