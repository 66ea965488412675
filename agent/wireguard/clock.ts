// The engine's two clocks, injected so timer tests run on fake time.

export interface Clock {
  /** Monotonic milliseconds: every timer runs on this. */
  now(): number;
  /** Unix epoch milliseconds: TAI64N timestamps and "latest handshake". */
  wallNow(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
};
