// Anti-replay window: edges, a jump past the whole bitmap, and agreement with a simple model.
import t from 'tap';
import { randomInt } from 'node:crypto';
import { REPLAY_WINDOW, ReplayWindow } from '../wireguard/replay-window.js';

t.test('window edges', async (t) => {
  t.equal(REPLAY_WINDOW, 8128, 'same window as the Linux kernel');
  const w = new ReplayWindow();
  t.ok(w.accept(0), 'counter 0 is a valid first packet');
  t.notOk(w.accept(0), 'and only once');
  t.ok(w.accept(1));
  t.ok(w.accept(9));
  t.ok(w.accept(8), 'out of order within the window');
  t.ok(w.accept(7));
  t.notOk(w.check(7), 'check sees the duplicate too');
  const top = 20_000;
  t.ok(w.accept(top));
  t.ok(w.check(top - REPLAY_WINDOW), 'exactly window behind: accepted');
  t.notOk(w.check(top - REPLAY_WINDOW - 1), 'one further: too old');
  t.ok(w.accept(top - 1));
  t.notOk(w.accept(top - 1));
  t.ok(w.accept(top + 100_000), 'a jump past the whole bitmap');
  t.notOk(w.check(top), 'everything before it is now too old');
  t.ok(w.accept(top + 100_000 - 5), 'and the new window starts empty');
  t.notOk(w.check(-1));
  t.notOk(w.check(2 ** 60), 'beyond exact doubles: refused');
  t.notOk(w.check(Number.NaN));
});

t.test('check never changes state: a forged packet cannot move the window', async (t) => {
  const w = new ReplayWindow();
  w.accept(5);
  t.ok(w.check(1_000_000));
  t.ok(w.check(4), 'still within the window of 5');
});

t.test('agrees with a model on random sequences', async (t) => {
  let disagreements = 0;
  for (let run = 0; run < 20; run++) {
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let greatest = -1;
    let base = 0;
    for (let i = 0; i < 5000; i++) {
      if (randomInt(100) === 0) base += randomInt(20_000); // occasional jumps
      const c = Math.max(0, base + randomInt(-9000, 300));
      const expect = !seen.has(c) && c + REPLAY_WINDOW >= greatest;
      if (w.accept(c) !== expect) disagreements++;
      if (expect) {
        seen.add(c);
        greatest = Math.max(greatest, c);
      }
    }
  }
  t.equal(disagreements, 0);
});
