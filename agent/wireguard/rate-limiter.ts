// Token bucket per source IP for handshakes that arrive while the device is under load
// (they already proved their address with a valid mac2; this caps what one address may cost us).
import { HANDSHAKE_BURST, HANDSHAKES_PER_SECOND } from './constants.js';

interface Bucket {
  tokens: number;
  last: number;
}

export class HandshakeRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond = HANDSHAKES_PER_SECOND,
    private readonly burst = HANDSHAKE_BURST,
  ) {}

  allow(source: string, now: number): boolean {
    let b = this.buckets.get(source);
    if (!b) {
      b = { tokens: this.burst, last: now };
      this.buckets.set(source, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.last) * this.perSecond) / 1000);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets full buckets so the table cannot grow without bound. */
  sweep(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.last) * this.perSecond) / 1000 >= this.burst) this.buckets.delete(k);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}

/** Counts handshake messages; the device is "under load" for a while after a burst. */
export class LoadMonitor {
  private windowStart = -Infinity;
  private count = 0;
  private busyUntil = -Infinity;

  constructor(
    private readonly threshold: number,
    private readonly window: number,
    private readonly stickFor: number,
  ) {}

  /** Records one handshake message and tells whether the device is now under load. */
  record(now: number): boolean {
    if (now - this.windowStart >= this.window) {
      this.windowStart = now;
      this.count = 0;
    }
    if (++this.count >= this.threshold) this.busyUntil = now + this.stickFor;
    return now < this.busyUntil;
  }

  isUnderLoad(now: number): boolean {
    return now < this.busyUntil;
  }
}
