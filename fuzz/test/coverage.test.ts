// The fuzzer's coverage probes: instrumented code computes what the original does, and inputs
// that take new branches (or loop longer) report new features while repeats report none.
import t from 'tap';
import { instrument } from '../coverage/instrument.js';
import { CoverageMap } from '../coverage/probes.js';

const SOURCE = `
export function classify(b) {
  if (b.length === 0) return 'empty';
  let sum = 0;
  for (const x of b) sum += x;
  switch (b[0]) {
    case 1: return 'one:' + (sum > 10 ? 'big' : 'small');
    case 2: return 'two:' + (b[1] ?? 'none');
    default: return b.length > 3 && b[3] === 7 ? 'seven' : 'other';
  }
}`;

async function load(code: string): Promise<(b: number[]) => string> {
  const mod = (await import(`data:text/javascript,${encodeURIComponent(code)}`)) as { classify: (b: number[]) => string };
  return mod.classify;
}

t.test('instrumented code behaves as the original and reports new features once', async (t) => {
  const map = new CoverageMap();
  map.install();
  const { code, nextId } = instrument(SOURCE, 'classify.js', 1);
  t.ok(nextId > 10, `probes placed (${nextId - 1})`);
  t.match(code, /__fz\(1\)/);
  const original = await load(SOURCE);
  const probed = await load(code);
  const inputs = [[], [1], [1, 20], [2], [2, 5], [3, 0, 0, 7], [3, 0, 0, 8], [1, 2, 3, 4, 5, 6, 7, 8, 9]];
  for (const b of inputs) {
    t.equal(probed(b), original(b), `same result for [${b.join(',')}]`);
    map.collect();
  }

  t.equal((probed([2, 5]), map.collect()), 0, 'a repeated path is nothing new');
  const long = (last: number) => [3, 0, 0, 9, ...new Array<number>(16).fill(1), last];
  t.ok((probed(long(1)), map.collect()) > 0, 'a longer loop (21 rounds) is a new hit-count bucket');
  t.equal((probed(long(2)), map.collect()), 0, 'same buckets: nothing new');
});

t.test('a module that does not parse as expected is still printed (no throw)', async (t) => {
  const { code } = instrument('export const f = (a) => a?.b ?? (a ? 1 : 2);', 'f.js', 100);
  const f = (await import(`data:text/javascript,${encodeURIComponent(code)}`)) as { f: (a: unknown) => unknown };
  t.equal(f.f({ b: 3 }), 3);
  t.equal(f.f(undefined), 2);
});
