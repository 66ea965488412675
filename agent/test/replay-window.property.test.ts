// The replay window against a reference model (a set of every accepted counter and the highest):
// on any sequence of checks and accepts, both answer the same.
import t from 'tap';
import fc from 'fast-check';
import { checkProperty } from '../../fuzz/check.js';
import { REPLAY_WINDOW, ReplayWindow } from '../wireguard/replay-window.js';

const MAX_COUNTER = Number.MAX_SAFE_INTEGER - 1;

/** Obviously right, and slow: remembers everything. */
class Model {
  private readonly seen = new Set<number>();
  private max = -1;
  check(c: number): boolean {
    if (!Number.isInteger(c) || c < 0 || c > MAX_COUNTER) return false;
    if (c > this.max) return true;
    return c >= this.max - REPLAY_WINDOW && !this.seen.has(c);
  }
  accept(c: number): boolean {
    if (!this.check(c)) return false;
    this.seen.add(c);
    this.max = Math.max(this.max, c);
    return true;
  }
  get top(): number {
    return this.max;
  }
}

/** Counters relative to the newest one (where the window's edges are) or absolute. */
const op = fc.record({
  accept: fc.boolean(),
  relative: fc.boolean(),
  value: fc.oneof(
    fc.integer({ min: -REPLAY_WINDOW - 70, max: 70 }),
    fc.constantFrom(-REPLAY_WINDOW - 1, -REPLAY_WINDOW, -REPLAY_WINDOW + 1, -1, 0, 1, 31, 32, 33, 8192, 8193),
    fc.integer({ min: 0, max: 2 ** 40 }),
    fc.constantFrom(-1, MAX_COUNTER, MAX_COUNTER + 1, Number.MAX_SAFE_INTEGER),
  ),
});

t.test('ReplayWindow agrees with the reference model', async (t) => {
  checkProperty(
    t,
    'same answers on every check and accept',
    fc.property(fc.array(op, { minLength: 1, maxLength: 300 }), (ops) => {
      const w = new ReplayWindow();
      const m = new Model();
      for (const o of ops) {
        const c = o.relative ? Math.max(0, m.top + o.value) : o.value;
        const got = o.accept ? w.accept(c) : w.check(c);
        const want = o.accept ? m.accept(c) : m.check(c);
        if (got !== want) return false;
      }
      return true;
    }),
    { numRuns: 400 },
  );
});

t.test('check never changes state', async (t) => {
  checkProperty(
    t,
    'check is pure',
    fc.property(fc.array(fc.nat({ max: 20_000 }), { maxLength: 100 }), fc.array(fc.integer({ min: -1, max: 30_000 }), { maxLength: 50 }), (accepted, probes) => {
      const w = new ReplayWindow();
      for (const c of accepted) w.accept(c);
      const before = probes.map((c) => w.check(c));
      const again = probes.map((c) => w.check(c));
      return before.every((v, i) => v === again[i]);
    }),
    { numRuns: 200 },
  );
});
