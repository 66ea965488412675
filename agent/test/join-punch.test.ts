// The path finder on a fake clock: the probe schedule (dense, then backing off, bounded), first
// answer adopted, LAN preferred, lowest RTT kept, retries with backoff, heartbeats, and
// re-punching when the active path dies.
import t from 'tap';
import { makeEndpoint, type Endpoint } from '../../shared/net/address.js';
import { betterPath, DEFAULT_PUNCH_TIMING, PathFinder, type PathEvent, type Probe, type RemoteCandidate } from '../join/paths/direct/punch.js';

const lan: RemoteCandidate = { kind: 'lan', endpoint: makeEndpoint('10.1.0.2', 41000) };
const pub: RemoteCandidate = { kind: 'public', endpoint: makeEndpoint('203.0.113.101', 41000) };
const pub2: RemoteCandidate = { kind: 'public', endpoint: makeEndpoint('198.51.100.9', 5000) };
const T = DEFAULT_PUNCH_TIMING;

/** Drives a finder in 10 ms steps, collecting probes and events. */
class Driver {
  now = 1_000;
  readonly probes: (Probe & { at: number })[] = [];
  readonly events: (PathEvent & { at: number })[] = [];
  constructor(readonly f = new PathFinder()) {}
  run(ms: number, answer?: (p: Probe) => number | undefined): void {
    const pending: { at: number; p: Probe }[] = [];
    for (const end = this.now + ms; this.now < end; this.now += 10) {
      for (const x of pending.filter((x) => x.at <= this.now)) {
        pending.splice(pending.indexOf(x), 1);
        const e = this.f.onPong(x.p.txid, x.p.to, this.now);
        if (e) this.events.push({ ...e, at: this.now });
      }
      const { probes, events } = this.f.tick(this.now);
      for (const p of probes) {
        this.probes.push({ ...p, at: this.now });
        const rtt = answer?.(p);
        if (rtt !== undefined) pending.push({ at: this.now + rtt, p });
      }
      for (const e of events) this.events.push({ ...e, at: this.now });
    }
  }
  probesTo(c: RemoteCandidate): number[] {
    return this.probes.filter((p) => sameAddr(p.to, c.endpoint)).map((p) => p.at);
  }
}
const sameAddr = (a: Endpoint, b: Endpoint) => a.address === b.address && a.port === b.port;
const answers = (table: [RemoteCandidate, number][]) => (p: Probe) => table.find(([c]) => sameAddr(c.endpoint, p.to))?.[1];

t.test('unanswered: rounds to every candidate, dense then backing off, bounded, then retried with backoff', async (t) => {
  const d = new Driver();
  d.f.start([lan, pub], d.now);
  d.run(T.windowMs + 100);
  const times = d.probesTo(pub).map((x) => x - 1_000);
  t.strictSame(d.probesTo(lan).length, times.length, 'every candidate in every round');
  t.strictSame(times.slice(0, 6), [0, 50, 150, 350, 750, 1550], 'first rounds: 50, 100, 200, 400, 800 ms apart');
  const gaps = times.slice(1).map((x, i) => x - times[i]!);
  t.ok(gaps.slice(5).every((g) => g === 1000), 'then once a second');
  t.ok(times.every((x) => x < T.windowMs), 'nothing after the window');
  t.ok(times.length <= 16, `bounded: ${times.length} rounds in ${T.windowMs} ms`);
  t.strictSame(d.events.map((e) => [e.type, e.at - 1_000]), [['failed', T.windowMs]], 'then the session failed');
  t.equal(d.f.state, 'idle');

  d.run(T.retryFirstMs + 100);
  t.strictSame(d.events.slice(1).map((e) => [e.type, e.at - 1_000]), [['retry', T.windowMs + T.retryFirstMs]], 'a retry after retryFirstMs');
  d.f.start([lan, pub], d.now);
  d.run(T.windowMs + 2 * T.retryFirstMs + 100);
  const retries = d.events.filter((e) => e.type === 'retry');
  t.equal(retries.length, 2);
  const failedAt = d.events.filter((e) => e.type === 'failed')[1]!.at;
  t.equal(retries[1]!.at - failedAt, 2 * T.retryFirstMs, 'the next wait doubles');
});

t.test('a scheduled start waits for the agreed moment', async (t) => {
  const d = new Driver();
  d.f.start([pub], d.now, d.now + 120);
  d.run(300);
  t.equal(d.probesTo(pub)[0], 1_120, 'first probe at the agreed moment, not before');
});

t.test('the first answer is adopted at once; a LAN answer beats it even when later', async (t) => {
  const d = new Driver();
  d.f.start([lan, pub], d.now);
  // The public path answers in 20 ms; LAN probes are lost for the first two rounds, then answer in 30 ms.
  let lanProbes = 0;
  d.run(2_000, (p) => (sameAddr(p.to, pub.endpoint) ? 20 : ++lanProbes > 2 ? 30 : undefined));
  const adopted = d.events.find((e) => e.type === 'adopted');
  t.equal(adopted?.type === 'adopted' && adopted.path.kind, 'public', 'first answer adopted');
  t.equal(adopted?.at, 1_020, 'within one RTT of the first round');
  const sw = d.events.find((e) => e.type === 'switched');
  t.equal(sw?.type === 'switched' && sw.path.kind, 'lan', 'then LAN wins, though slower');
  t.equal(d.f.active?.kind, 'lan');
  t.equal(d.f.state, 'settled', 'settled after settleMs');
  const last = d.probes.filter((p) => !sameAddr(p.to, d.f.active!.endpoint)).at(-1)!.at;
  t.ok(last <= 1_020 + T.settleMs, 'other candidates are no longer probed once settled');
});

t.test('the lowest RTT is kept; a marginal gain does not switch', async (t) => {
  const d = new Driver();
  d.f.start([pub, pub2], d.now);
  // pub answers in 60 ms; pub2's first probe is lost, later ones answer in 20 ms.
  let pub2Probes = 0;
  d.run(1_500, (p) => (sameAddr(p.to, pub.endpoint) ? 60 : ++pub2Probes > 1 ? 20 : undefined));
  t.equal(d.f.active?.endpoint.address, pub2.endpoint.address, 'the faster public path wins, though it answered second');
  t.equal(d.events.filter((e) => e.type === 'adopted').length, 1);
  t.equal(d.events.filter((e) => e.type === 'switched').length, 1);

  const e = new Driver();
  e.f.start([pub, pub2], e.now);
  e.run(1_500, answers([[pub, 20], [pub2, 19]]));
  t.equal(e.f.active?.endpoint.address, pub.endpoint.address, '1 ms better than 20 ms is noise: no switch');
  t.notOk(betterPath({ ...e.f.active!, rttMs: 0.4 }, { ...e.f.active!, rttMs: 0.9 }, T), 'sub-millisecond gains never switch');
  t.ok(betterPath({ endpoint: lan.endpoint, kind: 'lan', rttMs: 50, lastAnswerAt: 0 }, { endpoint: pub.endpoint, kind: 'public', rttMs: 1, lastAnswerAt: 0 }, T), 'LAN beats public whatever the RTT');
});

t.test('settled: heartbeats on the active path; silence means it died, and a re-punch finds the new one', async (t) => {
  const d = new Driver();
  d.f.start([pub], d.now);
  d.run(3_000, answers([[pub, 10]]));
  t.equal(d.f.state, 'settled');
  const before = d.probesTo(pub).length;
  d.run(10_000, answers([[pub, 10]]));
  const beats = d.probesTo(pub).length - before;
  t.ok(beats >= 4 && beats <= 6, `one heartbeat per ${T.heartbeatMs} ms (${beats} in 10 s)`);
  t.equal(d.events.filter((e) => e.type === 'lost').length, 0, 'answered heartbeats keep the path');
  t.equal(d.f.active?.rttMs, 10);

  const silentFrom = d.now;
  d.run(T.pathTimeoutMs + 500); // nothing answers any more: a NAT forgot us
  const lost = d.events.find((e) => e.type === 'lost');
  t.ok(lost, 'the path is declared lost');
  t.ok(lost!.at - silentFrom <= T.pathTimeoutMs + 10, `within pathTimeoutMs (${lost!.at - silentFrom} ms)`);
  t.equal(d.f.active, undefined);
  t.equal(d.f.state, 'idle');

  // The agent re-discovers: the peer now answers at a new mapping.
  const moved: RemoteCandidate = { kind: 'public', endpoint: makeEndpoint('203.0.113.101', 42000) };
  d.f.start([moved], d.now);
  d.run(1_000, answers([[moved, 10]]));
  const again = d.events.filter((e) => e.type === 'adopted');
  t.equal(again.length, 2);
  t.equal(d.f.active?.endpoint.port, 42000, 'the new path is adopted');
});

t.test('pongs that do not match are ignored: unknown txid, replay, wrong source, too late', async (t) => {
  const f = new PathFinder();
  f.start([pub], 0);
  const { probes } = f.tick(0);
  const p = probes[0]!;
  t.equal(f.onPong(Buffer.alloc(12), pub.endpoint, 5), undefined, 'unknown txid');
  t.equal(f.onPong(p.txid, pub2.endpoint, 5), undefined, 'right txid from another address');
  t.equal(f.onPong(p.txid, pub.endpoint, 10)?.type, 'adopted');
  t.equal(f.onPong(p.txid, pub.endpoint, 11), undefined, 'the same pong again');
  const late = new PathFinder();
  late.start([pub], 0);
  const q = late.tick(0).probes[0]!;
  late.tick(T.probeTimeoutMs + 1);
  t.equal(late.onPong(q.txid, pub.endpoint, T.probeTimeoutMs + 2), undefined, 'after probeTimeoutMs');
});

t.test('learned (peer-reflexive) candidates are probed; roaming is followed', async (t) => {
  const d = new Driver();
  d.f.start([pub], d.now);
  d.run(60);
  const prflx: RemoteCandidate = { kind: 'public', endpoint: makeEndpoint('203.0.113.101', 61000) };
  t.ok(d.f.learn(prflx));
  t.notOk(d.f.learn(prflx), 'once');
  t.notOk(d.f.learn(pub), 'an announced one is not learned');
  d.run(500, answers([[prflx, 5]]));
  t.equal(d.f.active?.endpoint.port, 61000, 'the learned address answered and was adopted');
  d.f.follow(pub.endpoint, d.now);
  t.equal(d.f.active?.endpoint.port, 41000, 'WireGuard roamed: heartbeats follow');
  t.equal(d.f.active?.kind, 'public');
});

t.test('NAT rebinding: a ping from a new address is probed back at once and replaces a silent path', async (t) => {
  const d = new Driver();
  d.f.start([pub], d.now);
  d.run(3_000, answers([[pub, 10]]));
  t.equal(d.f.state, 'settled');
  const rebound = makeEndpoint('203.0.113.101', 7777);
  t.equal(d.f.pingedFrom(pub.endpoint, true, d.now), undefined, 'a ping on the active path needs nothing');
  // The peer's NAT rebinds: our heartbeats to the old mapping go unanswered from now on.
  d.run(T.heartbeatMs * 2);
  const back = d.f.pingedFrom(rebound, false, d.now);
  t.ok(back, 'a ping from a new address: probe straight back');
  t.equal(back?.to.port, 7777);
  t.equal(d.f.pingedFrom(rebound, false, d.now + 10), undefined, 'at most once a second per address');
  const e = d.f.onPong(back!.txid, rebound, d.now + 5);
  t.equal(e?.type, 'switched', 'the answering path replaces the silent one before it is declared lost');
  t.equal(d.f.active?.endpoint.port, 7777);
  t.equal(d.events.filter((x) => x.type === 'lost').length, 0, 'never lost');

  const healthy = new Driver();
  healthy.f.start([pub], healthy.now);
  healthy.run(3_000, answers([[pub, 10]]));
  const other = healthy.f.pingedFrom(rebound, false, healthy.now)!;
  t.equal(healthy.f.onPong(other.txid, rebound, healthy.now + 10), undefined, 'while the active path answers, an equal one does not replace it');
});

t.test('announced addresses that never answer are probed a few rounds, then rarely; few per round', async (t) => {
  // An insider announces 16 candidates pointing at someone else: we must not flood them.
  const victims: RemoteCandidate[] = Array.from({ length: 16 }, (_, i) => ({ kind: i < 8 ? 'lan' : 'public', endpoint: makeEndpoint(`192.0.2.${i + 1}`, 9_000 + i) }));
  const d = new Driver();
  d.f.start(victims, d.now);
  const retried = (from: number) => d.events.slice(from).some((e) => e.type === 'retry');
  for (let minute = d.now + 60_000; d.now < minute; ) {
    const seen = d.events.length;
    d.run(100);
    if (retried(seen)) d.f.start(victims, d.now); // as the agent does
  }
  const perCandidate = victims.map((c) => d.probesTo(c).length);
  const total = perCandidate.reduce((a, b) => a + b, 0);
  t.ok(total <= 150, `${total} probes in a minute (${total * 50} bytes)`);
  t.ok(perCandidate.filter((n) => n > 0).length <= 8, 'at most 8 candidates probed');
  t.ok(Math.max(...perCandidate) <= 20, `at most ${Math.max(...perCandidate)} probes to one address`);

  // One of them starts answering: it is still found, within a session or two.
  const answering = victims[0]!;
  const before = d.events.length;
  for (let end = d.now + 60_000; d.now < end && !d.f.active; ) {
    const seen = d.events.length;
    d.run(100, answers([[answering, 5]]));
    if (retried(seen)) d.f.start(victims, d.now);
  }
  t.ok(d.events.slice(before).some((e) => e.type === 'adopted'), 'a dead candidate that comes alive is adopted');
});

t.test('idle: heartbeats back off to idleHeartbeatMs without data, come back with data, and an idle dead path is still lost', async (t) => {
  const f = new PathFinder();
  let now = 0;
  f.start([pub], now);
  const answer = (probes: Probe[], at: number) => {
    for (const p of probes) f.onPong(p.txid, p.to, at);
  };
  const noData = -Infinity;
  // Settle, with every probe answered 10 ms later.
  for (; now < 3_000; now += 10) answer(f.tick(now, noData).probes, now + 10);
  t.equal(f.state, 'settled');
  const sentAt: number[] = [];
  for (; now < 63_000; now += 10) {
    const { probes } = f.tick(now, noData);
    if (probes.length) sentAt.push(now);
    answer(probes, now + 10);
  }
  const gaps = sentAt.slice(1).map((x, i) => x - sentAt[i]!);
  t.ok(gaps.length >= 2 && gaps.every((g) => g === T.idleHeartbeatMs), `idle heartbeats every ${T.idleHeartbeatMs} ms (${gaps.join(', ')})`);
  const last = sentAt.at(-1)!;
  t.equal(f.nextDeadline(now, noData), last + T.idleHeartbeatMs!, 'the next deadline is the next idle heartbeat');
  // Data moves: the heartbeat is due at the busy rate (2 s after the last one).
  t.equal(f.nextDeadline(now, now), last + T.heartbeatMs, 'data makes it due at the busy rate');
  now = Math.max(now, last + T.heartbeatMs);
  // The path died while idle: this heartbeat is unanswered, retried every heartbeatMs, and lost in time.
  t.equal(f.tick(now, now).probes.length, 1, 'and it goes out');
  const idleFrom = now;
  let lostAt: number | undefined;
  for (; now < idleFrom + 60_000 && lostAt === undefined; now += 10) {
    if (f.tick(now, idleFrom - T.idleAfterMs!).events.some((e) => e.type === 'lost')) lostAt = now;
  }
  t.ok(lostAt !== undefined, 'lost');
  t.ok(lostAt! - idleFrom <= T.pathTimeoutMs - T.heartbeatMs + 20, `lost ${lostAt! - idleFrom} ms after its unanswered heartbeat (pathTimeoutMs ${T.pathTimeoutMs})`);
});
