// The daemon's driver of the engine's timers: one timer at the engine's next deadline, re-armed
// when the engine sets an earlier one; an idle tunnel is woken only when a timer is due.
import t from 'tap';
import { EngineTimer } from '../daemon/engine-timer.js';
import { EngineNet, ipv4Packet } from './fixtures/engine-net.js';
import { KEEPALIVE_TIMEOUT } from '../wireguard/constants.js';

/** Fake timers on the EngineNet's clock: `advance` fires what is due and delivers traffic. */
class FakeTimers {
  private timers: { at: number; fn: () => void }[] = [];
  constructor(private readonly net: EngineNet) {}
  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { at: this.net.clock.mono + ms, fn };
    this.timers.push(timer);
    return timer;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x !== h);
  }
  get pending(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    const end = this.net.clock.mono + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers.splice(this.timers.indexOf(due), 1);
      this.net.clock.advance(due.at - this.net.clock.mono);
      due.fn();
      this.net.flush();
    }
    this.net.clock.advance(end - this.net.clock.mono);
  }
}

function setup() {
  const net = new EngineNet();
  const { a, b } = net.addPair();
  const timers = new FakeTimers(net);
  const ta = new EngineTimer(a.device, timers);
  const tb = new EngineTimer(b.device, timers);
  return { net, a, b, timers, ta, tb, pa: a.device.getPeer(b.key.publicKey)!, pb: b.device.getPeer(a.key.publicKey)! };
}

t.test('no timer at all while the engine has nothing pending', async (t) => {
  const { timers, ta, tb } = setup();
  t.equal(timers.pending, 0);
  timers.advance(600_000);
  t.equal(ta.wakeups + tb.wakeups, 0, 'never woken');
});

t.test('a persistent keepalive of 25 s wakes an idle tunnel about once per 25 s', async (t) => {
  const { net, a, timers, ta, tb, pa, pb } = setup();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'hi'));
  net.flush();
  pa.setPersistentKeepalive(25, true);
  pb.setPersistentKeepalive(25, true);
  net.flush();
  timers.advance(600_000); // the session's transient timers settle
  const before = ta.wakeups + tb.wakeups;
  const keepalivesBefore = net.wire.length;
  timers.advance(600_000);
  const wakeups = ta.wakeups + tb.wakeups - before;
  t.ok(wakeups <= 60, `${wakeups} wake-ups for two devices in 10 minutes (a 100 ms tick: 12000)`);
  t.ok(net.wire.length - keepalivesBefore >= 24, 'keepalives (and rekeys) still go out');
  t.ok(pa.current && pb.current, 'the session stays up');
  t.equal(timers.pending, 2, 'one timer per device');
});

t.test('an earlier deadline set by traffic re-arms the timer', async (t) => {
  const { net, a, b, timers } = setup();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'hi'));
  net.flush();
  const keepalivesFromB = () => net.wire.filter((d) => d.from === b.endpoint && d.data[0] === 4 && d.data.length === 32).length;
  // b got data: its passive keepalive is due KEEPALIVE_TIMEOUT later, and must go out on time.
  timers.advance(KEEPALIVE_TIMEOUT - 50);
  t.equal(keepalivesFromB(), 0);
  timers.advance(100);
  t.equal(keepalivesFromB(), 1, 'sent at its deadline');
});

t.test('stop() leaves no timer behind', async (t) => {
  const { net, a, timers, ta, tb } = setup();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'hi'));
  net.flush();
  t.ok(timers.pending > 0);
  ta.stop();
  tb.stop();
  t.equal(timers.pending, 0);
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'again'));
  t.equal(timers.pending, 0, 'a stopped driver arms nothing');
});
