// `npm run fuzz -- [target ...] [--seconds N] [--runs N] [--seed N] [--write-corpus] [--save-corpus]`
//
// Coverage-guided, in process: @jazzer.js/core's native addon cannot load on this platform (it
// needs GLIBC_2.38 and GLIBCXX_3.4.32; Debian 12 has 2.36 / 3.4.30), so the project's compiled
// modules load with our own coverage probes (fuzz/coverage/). Each target gets fast-check's
// random bytes and byte-level mutations of its corpus (fuzz/mutate.ts); an input that reaches a
// new coverage feature (or a new outcome label) joins the corpus for later mutations. A crash is
// an exception from a target: the input is saved under fuzz/crashes/<target>/ and the run fails.
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'node:module';
import { mutatedFrom, randomBytes } from './mutate.js';
import { CoverageMap } from './coverage/probes.js';

// Probes first, then the targets: only modules loaded after the hook is registered are probed.
const coverage = new CoverageMap();
coverage.install();
register('./coverage/hook.js', import.meta.url);
const { TARGETS } = await import('./targets.js');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fuzz'); // dist/fuzz → fuzz/
const DEFAULT_RUNS = 1_000_000;
const BATCH = 2_000;

function usage(): never {
  console.error(`usage: npm run fuzz -- [${Object.keys(TARGETS).join('|')} ...] [--seconds N] [--runs N] [--seed N] [--write-corpus] [--save-corpus]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const names: string[] = [];
let seconds: number | undefined;
let runs: number | undefined;
let seed = Date.now() >>> 0;
let writeCorpus = false;
let saveCorpus = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--seconds') seconds = Number(args[++i]);
  else if (a === '--runs') runs = Number(args[++i]);
  else if (a === '--seed') seed = Number(args[++i]);
  else if (a === '--write-corpus') writeCorpus = true;
  else if (a === '--save-corpus') saveCorpus = true;
  else if (a in TARGETS) names.push(a);
  else usage();
}
if ((seconds !== undefined && !(seconds > 0)) || (runs !== undefined && !(runs > 0))) usage();
// With --seconds alone the run is time-boxed; otherwise it stops after `runs` inputs.
const maxRuns = runs ?? (seconds === undefined ? DEFAULT_RUNS : Infinity);

function loadCorpus(name: string): Buffer[] {
  const dir = join(ROOT, 'corpus', name);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f)));
}

let failed = false;
console.log(`fuzz: fast-check random + mutation inputs, coverage-guided corpus (block, branch and hit-count features); seed ${seed}`);
for (const name of names.length ? names : Object.keys(TARGETS)) {
  const target = TARGETS[name]!();
  if (writeCorpus) {
    const dir = join(ROOT, 'corpus', name);
    mkdirSync(dir, { recursive: true });
    target.seeds().forEach((s, i) => writeFileSync(join(dir, `seed-${i}.bin`), s));
    console.log(`${name}: wrote ${target.seeds().length} seeds to fuzz/corpus/${name}/`);
    continue;
  }
  const committed = loadCorpus(name);
  const corpus = [...committed, ...(target.liveSeeds?.() ?? [])];
  if (corpus.length === 0) corpus.push(...target.seeds());
  const seedCount = corpus.length;
  if (saveCorpus) mkdirSync(join(ROOT, 'corpus', name), { recursive: true });
  const labels = new Set<string>();
  for (const input of corpus) labels.add(runQuietly(target, input));
  coverage.collect();
  const featuresAtStart = coverage.features;
  let inputs = 0;
  let crashes = 0;
  const started = performance.now();
  const deadline = seconds === undefined ? Infinity : started + seconds * 1000;
  for (let batch = 0; inputs < maxRuns && performance.now() < deadline; batch++) {
    // The corpus grows between batches, so later batches mutate what earlier ones found.
    const arb = fc.oneof({ arbitrary: randomBytes(target.maxLength), weight: 1 }, { arbitrary: mutatedFrom(corpus, 8), weight: 4 });
    for (const input of fc.sample(arb, { seed: (seed + batch * 7919) | 0, numRuns: Math.min(BATCH, maxRuns - inputs) })) {
      inputs++;
      let label: string;
      try {
        label = target.fuzz(input);
      } catch (e) {
        coverage.collect();
        crashes++;
        failed = true;
        const dir = join(ROOT, 'crashes', name);
        mkdirSync(dir, { recursive: true });
        const file = join(dir, `crash-${createHash('sha1').update(input).digest('hex')}.bin`);
        writeFileSync(file, input);
        console.log(`${name}: CRASH ${(e as Error).stack?.split('\n').slice(0, 3).join(' | ')}\n  input saved to ${file}`);
        if (crashes >= 10) break;
        continue;
      }
      const fresh = coverage.collect();
      if (fresh > 0 || !labels.has(label)) {
        labels.add(label);
        corpus.push(input);
        if (saveCorpus) writeFileSync(join(ROOT, 'corpus', name, `cov-${createHash('sha1').update(input).digest('hex').slice(0, 16)}.bin`), input);
      }
    }
    if (crashes >= 10) break;
  }
  const s = (performance.now() - started) / 1000;
  console.log(
    `${name}: ${inputs} inputs in ${s.toFixed(1)} s (${Math.round(inputs / s)}/s), features ${coverage.features - featuresAtStart} new (${coverage.features} total), corpus ${corpus.length} (${committed.length} committed, ${seedCount - committed.length} live, ${corpus.length - seedCount} new), crashes ${crashes}`,
  );
}
process.exit(failed ? 1 : 0);

/** Replays a corpus input for its coverage; a committed input that crashes shows up in the loop. */
function runQuietly(target: { fuzz(d: Buffer): string }, input: Buffer): string {
  try {
    return target.fuzz(input);
  } catch {
    return 'crash';
  }
}
