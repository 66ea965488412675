// Reconnect delays: exponential from firstMs up to maxMs, with "equal jitter" (half the delay
// fixed, half random) so agents that lost the same server do not come back in lockstep.

export interface BackoffPolicy {
  firstMs: number;
  maxMs: number;
}

export const DEFAULT_RECONNECT_BACKOFF: BackoffPolicy = { firstMs: 500, maxMs: 15_000 };

/** Delay before reconnect attempt number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, p: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(p.maxMs, p.firstMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
