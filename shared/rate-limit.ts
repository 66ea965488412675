// Rate limiting primitives: a token bucket, a per-key table of them with a bounded size, and a
// leaky "strike" counter for repeated abuse. All take `now` in milliseconds so tests can drive time.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
  }

  /** Takes `amount` tokens (e.g. bytes) if that many are there; false leaves the bucket as it was. */
  take(now: number, amount = 1): boolean {
    this.refill(now);
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }

  /** True when the bucket has refilled completely, i.e. forgetting it changes nothing. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }
}

/**
 * One bucket per key (an address). Beyond `maxKeys` distinct keys, new keys share one overflow
 * bucket: a flood of spoofed sources cannot grow the table, and only costs the spoofers' share.
 */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly overflow: TokenBucket;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxKeys = 65536,
    now = Date.now(),
  ) {
    this.overflow = new TokenBucket(perSecond, burst, now);
  }

  /** Takes `amount` tokens (1: one event; or bytes) from `key`'s bucket. */
  allow(key: string, now: number, amount = 1): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) return this.overflow.take(now, amount);
      bucket = new TokenBucket(this.perSecond, this.burst, now);
      this.buckets.set(key, bucket);
    }
    return bucket.take(now, amount);
  }

  /** Forgets full buckets; call periodically. */
  sweep(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }
}

/**
 * Counts offences, forgiving one every `forgiveMs`. `add` returns true once the level passes
 * `max`, i.e. the offender has misbehaved repeatedly in a short time.
 */
export class StrikeCounter {
  private level = 0;
  private last: number;

  constructor(
    private readonly max: number,
    private readonly forgiveMs: number,
    now: number,
  ) {
    this.last = now;
  }

  add(now: number): boolean {
    this.level = Math.max(0, this.level - (now - this.last) / this.forgiveMs) + 1;
    this.last = now;
    return this.level > this.max;
  }
}
