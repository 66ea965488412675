// Anti-replay sliding window over transport counters (the bitmap scheme of RFC 6479).
// `check` is the cheap test done before decrypting; `accept` marks the counter only after the
// tag verified, so forged packets cannot move the window.

const WORD_BITS = 32;
const WORDS = 256; // 8192 bits of history
const BITS_TOTAL = WORD_BITS * WORDS;
/** Counters this far behind the newest one are still accepted (the kernel's 8128). */
export const REPLAY_WINDOW = BITS_TOTAL - 64;
/** Counters are read as doubles; past 2^53 they are inexact, and no session gets anywhere near it. */
const MAX_COUNTER = Number.MAX_SAFE_INTEGER - 1;

export class ReplayWindow {
  private readonly bitmap = new Uint32Array(WORDS);
  /** Highest accepted counter + 1 (0: nothing accepted yet); offsetting by one lets counter 0 be a bit. */
  private top = 0;

  /** False if `counter` is too old, already seen, or out of range. Does not change state. */
  check(counter: number): boolean {
    if (!(counter >= 0 && counter <= MAX_COUNTER)) return false;
    const c = counter + 1;
    if (c > this.top) return true;
    if (c + REPLAY_WINDOW < this.top) return false;
    return (this.bitmap[(c >>> 5) & (WORDS - 1)]! & (1 << (c & 31))) === 0;
  }

  /** Marks `counter` as seen; false if it was not acceptable (a duplicate raced in first). */
  accept(counter: number): boolean {
    if (!this.check(counter)) return false;
    const c = counter + 1;
    if (c > this.top) {
      // Clear the words between the old top's word and the new one: they describe counters
      // that were never seen (or have fallen out of the window).
      const from = Math.floor(this.top / WORD_BITS);
      const to = Math.floor(c / WORD_BITS);
      const n = Math.min(to - from, WORDS);
      for (let i = 1; i <= n; i++) this.bitmap[(from + i) & (WORDS - 1)] = 0;
      this.top = c;
    }
    this.bitmap[Math.floor(c / WORD_BITS) & (WORDS - 1)]! |= 1 << (c & 31);
    return true;
  }
}
