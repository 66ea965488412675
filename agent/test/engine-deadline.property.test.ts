// The engine's next deadline: what `Device.nextDeadline()` reports, and that a driver waking only
// then (as the daemon does) behaves exactly like the old driver ticking every 100 ms.
import t from 'tap';
import fc from 'fast-check';
import { checkProperty } from '../../fuzz/check.js';
import { EngineNet, ipv4Packet, type Datagram } from './fixtures/engine-net.js';
import { KEEPALIVE_TIMEOUT, REJECT_AFTER_TIME, REKEY_TIMEOUT } from '../wireguard/constants.js';
import { TIMER_NAMES } from '../wireguard/timers.js';

const TICK_MS = 100;

function pair(jitter?: () => number) {
  const net = new EngineNet(jitter);
  const { a, b } = net.addPair();
  return { net, a, b, pa: a.device.getPeer(b.key.publicKey)!, pb: b.device.getPeer(a.key.publicKey)! };
}

t.test('nextDeadline is the earliest pending peer timer', async (t) => {
  const { net, a, b, pa, pb } = pair();
  t.equal(a.device.nextDeadline(), undefined, 'nothing pending before any traffic');
  const start = net.clock.now();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'hi'));
  t.equal(a.device.nextDeadline(), start + REKEY_TIMEOUT, 'handshake retry while the initiation is out');
  net.flush();
  // a completed the handshake and sent data: it expects an answer within KEEPALIVE + REKEY_TIMEOUT.
  t.equal(pa.timers.deadlineOf('newHandshake'), start + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT);
  t.equal(a.device.nextDeadline(), start + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT);
  // b received data: its passive keepalive is due first.
  t.equal(b.device.nextDeadline(), start + KEEPALIVE_TIMEOUT);
  const armed: number[] = [];
  a.device.onTimerArmed = (at) => armed.push(at);
  pa.setPersistentKeepalive(5, true);
  net.flush();
  t.ok(armed.includes(start + 5_000), 'a new earlier deadline is reported when it is set');
  t.equal(a.device.nextDeadline(), start + 5_000, 'the persistent keepalive is now the earliest');
  // Every pending timer is at or after the reported deadline.
  for (const p of [pa, pb]) {
    const dev = p === pa ? a.device : b.device;
    for (const n of TIMER_NAMES) {
      const d = p.timers.deadlineOf(n);
      if (d !== undefined) t.ok(d >= dev.nextDeadline()!, `${n} not before the reported deadline`);
    }
  }
  a.device.removePeer(b.key.publicKey);
  t.equal(a.device.nextDeadline(), undefined, 'a removed peer leaves no deadline');
});

t.test('an idle peer with persistent keepalive wakes its driver about once per interval', async (t) => {
  const { net, a, pa, pb } = pair();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'hi'));
  net.flush();
  pa.setPersistentKeepalive(25, true);
  pb.setPersistentKeepalive(25, true);
  net.flush();
  net.runToDeadlines(3 * REJECT_AFTER_TIME); // past every transient timer
  const wakeups = net.runToDeadlines(600_000);
  // Two devices, one keepalive each per 25 s of silence at most, a rekey every 2 minutes.
  t.ok(wakeups <= 2 * (600_000 / 25_000) + 20, `${wakeups} wake-ups in 10 minutes (a 100 ms tick: 12000)`);
  t.ok(wakeups >= 600_000 / 25_000, 'the keepalives still run');
  t.ok(pa.current && pb.current, 'the session is kept fresh');
});

// --- the fixed tick against the deadline driver ------------------------------------------------

type Op =
  | { kind: 'send'; from: 'a' | 'b'; size: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'link'; up: boolean }
  | { kind: 'keepalive'; who: 'a' | 'b'; seconds: number };

// Waits are whole ticks, and so are jitters: every deadline lands on the 100 ms grid, where the
// fixed tick fires it at the same instant the deadline driver does.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('send' as const), from: fc.constantFrom('a' as const, 'b' as const), size: fc.integer({ min: 0, max: 60 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 2_000 }), fc.constantFrom(50, 100, 150, 1_650, 1_800, 5_400)).map((n) => n * TICK_MS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('link' as const), up: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('keepalive' as const), who: fc.constantFrom('a' as const, 'b' as const), seconds: fc.constantFrom(0, 1, 5, 25) }) },
);

/** Replays `ops` and returns everything observable: the wire, the TUNs, the final peer state. */
function replay(ops: Op[], seed: number, driver: 'tick' | 'deadline'): string[] {
  let s = seed >>> 0;
  const jitter = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return ((s >>> 16) % 4) * TICK_MS;
  };
  const { net, a, b, pa, pb } = pair(jitter);
  let up = true;
  const filter = (_: Datagram) => up;
  const out: string[] = [];
  const nodes = { a, b };
  const peers = { a: pa, b: pb };
  let n = 0;
  for (const op of ops) {
    switch (op.kind) {
      case 'send': {
        const [src, dst] = op.from === 'a' ? ['10.0.0.1', '10.0.0.2'] : ['10.0.0.2', '10.0.0.1'];
        nodes[op.from].device.sendPacket(ipv4Packet(src, dst, `p${n++}`.padEnd(op.size, '.')));
        net.flush(filter);
        break;
      }
      case 'wait':
        if (driver === 'tick') net.run(op.ms, TICK_MS, filter);
        else net.runToDeadlines(op.ms, filter);
        break;
      case 'link':
        up = op.up;
        break;
      case 'keepalive':
        peers[op.who].setPersistentKeepalive(op.seconds, true);
        net.flush(filter);
        break;
    }
  }
  const name = (e: { address: string }) => (e.address === a.endpoint.address ? 'a' : 'b');
  for (const d of net.wire) out.push(`at ${d.at} ${name(d.from)} type ${d.data[0]} len ${d.data.length}`);
  for (const [k, node] of Object.entries(nodes)) out.push(`${k} tun ${node.tun.map((p) => p.subarray(20).toString()).join(',')}`);
  for (const [k, p] of Object.entries(peers)) {
    const timers = TIMER_NAMES.map((t) => `${t}=${p.timers.deadlineOf(t) ?? '-'}`).join(' ');
    out.push(`${k} current=${!!p.current} previous=${!!p.previous} next=${!!p.next} staged=${p.stagedCount()} attempts=${p.timers.handshakeAttempts} ${timers}`);
  }
  return out;
}

t.test('waking at the next deadline behaves as ticking every 100 ms', async (t) => {
  checkProperty(
    t,
    'same datagrams, same TUN writes, same timers',
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 25 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (ops, seed) => {
      const ticked = replay(ops, seed, 'tick');
      const woken = replay(ops, seed, 'deadline');
      return ticked.length === woken.length && ticked.every((l, i) => l === woken[i]);
    }),
    { numRuns: 60 },
  );
});
