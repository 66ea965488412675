// The probes' runtime: `__fz(ID)` counts hits in a byte map and remembers which ids an input
// touched; after the input, each touched id gives one feature per hit-count bucket (1, 2, 3,
// 4-7, 8-15, 16-31, 32-127, 128+: libFuzzer's buckets), so a loop that runs longer is new too.
import { PROBE_FUNCTION } from './instrument.js';

const MAX_PROBES = 1 << 20;
const BUCKETS = 8;

export class CoverageMap {
  private readonly hits = new Uint8Array(MAX_PROBES);
  private readonly touched: number[] = [];
  private readonly seen = new Uint8Array(MAX_PROBES * BUCKETS);
  /** Features seen so far, over all inputs of this map. */
  features = 0;

  install(): void {
    const hits = this.hits;
    const touched = this.touched;
    (globalThis as Record<string, unknown>)[PROBE_FUNCTION] = (id: number) => {
      const v = hits[id]!;
      if (v === 0) touched.push(id);
      if (v < 255) hits[id] = v + 1;
    };
  }

  /** Ends one input: how many features it reached first; resets the hit counts. */
  collect(): number {
    let fresh = 0;
    for (const id of this.touched) {
      if (id >= MAX_PROBES) continue;
      const feature = id * BUCKETS + bucket(this.hits[id]!);
      this.hits[id] = 0;
      if (this.seen[feature] === 0) {
        this.seen[feature] = 1;
        fresh++;
      }
    }
    this.touched.length = 0;
    this.features += fresh;
    return fresh;
  }
}

function bucket(count: number): number {
  if (count <= 3) return count - 1;
  if (count < 8) return 3;
  if (count < 16) return 4;
  if (count < 32) return 5;
  if (count < 128) return 6;
  return 7;
}
