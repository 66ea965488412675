// An idle room costs little: on the JoinNet (real agents and engines, fake clock), four members
// with direct paths and nothing to send wake each agent a few times a minute (the old fixed ticks
// alone were 3000 agent and 600 engine wake-ups a minute), while a member joining, data starting
// to move and a path dying are still acted on as promptly as before.
import t, { type Test } from 'tap';
import type { Route } from '../join/paths/arbiter.js';
import { DEFAULT_PUNCH_TIMING } from '../join/paths/direct/punch.js';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';
import { ipv4Packet } from './fixtures/engine-net.js';

const STEP_MS = 200;
const MINUTE = 60_000;

function route(at: JoinNode, of: JoinNode): Route | 'absent' {
  const m = at.agent.members.get(of.key.publicKey);
  return m ? at.agent.arbiters.route(m) : 'absent';
}

const allDirect = (nodes: JoinNode[]) => nodes.every((a) => nodes.every((b) => a === b || route(a, b) === 'direct'));

/** Sends one IP packet from `a` to `b` through the tunnel. */
function send(a: JoinNode, b: JoinNode, text = 'data'): void {
  a.device.sendPacket(ipv4Packet(a.agent.address, b.agent.address, text));
}

async function idleRoom(t: Test, names = ['a', 'b', 'c', 'd']) {
  const net = new JoinNet('idle-room');
  t.teardown(() => net.closeAll());
  const nodes: JoinNode[] = [];
  for (const n of names) nodes.push(await net.add(n));
  t.ok((await net.until(() => allDirect(nodes), 20_000)) >= 0, 'every pair direct');
  // Path finding settles, data stops: the heartbeats back off.
  await net.run(MINUTE, STEP_MS);
  return { net, nodes };
}

function snapshot(nodes: JoinNode[]) {
  return nodes.map((n) => ({ timers: n.wakeups.timers, datagrams: n.wakeups.datagrams, engine: n.engineTimer.wakeups }));
}

t.test('an idle room of four wakes each agent a few times a minute', async (t) => {
  const { net, nodes } = await idleRoom(t);
  const before = snapshot(nodes);
  await net.run(MINUTE, STEP_MS);
  const after = snapshot(nodes);
  nodes.forEach((n, i) => {
    const timers = after[i]!.timers - before[i]!.timers;
    const datagrams = after[i]!.datagrams - before[i]!.datagrams;
    const engine = after[i]!.engine - before[i]!.engine;
    t.comment(`${n.name}: ${timers} agent timer wake-ups, ${datagrams} datagrams in, ${engine} engine wake-ups in a minute`);
    // Host addresses every 5 s (12), a heartbeat per member every 20 s (9), STUN, the relay refresh, answers.
    t.ok(timers <= 45, `${n.name}: ${timers} agent wake-ups a minute (a 20 ms tick: 3000)`);
    t.ok(datagrams <= 40, `${n.name}: ${datagrams} datagrams a minute`);
    // Three peers' keepalives and rekeys: a handful each.
    t.ok(engine <= 30, `${n.name}: ${engine} engine wake-ups a minute (a 100 ms tick: 600)`);
  });
  t.ok(allDirect(nodes), 'the paths stay up while idle');
});

t.test('a member joining an idle room gets its direct paths as fast as in a busy one', async (t) => {
  const { net, nodes } = await idleRoom(t, ['a', 'b', 'c']);
  const e = await net.add('e');
  const took = await net.until(() => allDirect([...nodes, e]), 20_000, 10);
  // The fresh room's figure, for comparison: b joining a, both just started.
  const fresh = new JoinNet('fresh-room');
  t.teardown(() => fresh.closeAll());
  const a = await fresh.add('a');
  const b = await fresh.add('b');
  const freshTook = await fresh.until(() => allDirect([a, b]), 20_000, 10);
  t.ok(took >= 0 && freshTook >= 0, `direct paths after ${took} ms (fresh room: ${freshTook} ms)`);
  t.ok(took <= freshTook + 100, 'no slower than in a busy room');
});

t.test('data starting on an idle path wakes its heartbeats; a path dying under traffic is lost as fast as before', async (t) => {
  const { net, nodes } = await idleRoom(t, ['a', 'b']);
  const [a, b] = nodes as [JoinNode, JoinNode];
  // Traffic starts: within a tick a heartbeat goes out too (the path is checked at once).
  const before = b.wakeups.datagrams;
  send(a, b, 'wake up');
  await net.run(100, 10);
  t.ok(b.wakeups.datagrams - before >= 2, `the data and a heartbeat arrived at once (${b.wakeups.datagrams - before} datagrams)`);
  // Under traffic the path dies: lost within pathTimeoutMs of its last answer, then relayed.
  const T = DEFAULT_PUNCH_TIMING;
  const traffic = setIntervalOnNet(net, () => send(a, b, 'more'), 500);
  net.cut('a', 'b');
  const cutAt = net.clock.now();
  const lostIn = await net.until(() => route(a, b) !== 'direct', 30_000, 10);
  t.ok(lostIn >= 0 && lostIn <= T.pathTimeoutMs + 100, `lost ${lostIn} ms after the cut (pathTimeoutMs ${T.pathTimeoutMs})`);
  t.ok((await net.until(() => route(a, b) === 'relay', 10_000, 10)) >= 0, 'relayed');
  traffic.stop();
  t.ok(net.clock.now() - cutAt < 15_000, 'relayed within 15 s of the cut');
});

t.test('a path that died while idle is found out as soon as data moves', async (t) => {
  const { net, nodes } = await idleRoom(t, ['a', 'b']);
  const [a, b] = nodes as [JoinNode, JoinNode];
  net.cut('a', 'b');
  await net.run(1_000, STEP_MS);
  const T = DEFAULT_PUNCH_TIMING;
  const startedAt = net.clock.now();
  const traffic = setIntervalOnNet(net, () => send(a, b, 'anyone?'), 500);
  const lostIn = await net.until(() => route(a, b) !== 'direct', 30_000, 10);
  traffic.stop();
  // The first heartbeat goes out with the data; unanswered, the path is lost pathTimeoutMs - heartbeatMs later.
  t.ok(lostIn >= 0 && lostIn <= T.pathTimeoutMs, `lost ${lostIn} ms after data started (idle before: ${net.clock.now() - startedAt} ms)`);
});

/** Calls `fn` every `ms` of fake time until stopped. */
function setIntervalOnNet(net: JoinNet, fn: () => void, ms: number): { stop(): void } {
  let stopped = false;
  const again = () => {
    if (stopped) return;
    fn();
    net.clock.setTimeout(again, ms);
  };
  net.clock.setTimeout(again, 0);
  return { stop: () => void (stopped = true) };
}
