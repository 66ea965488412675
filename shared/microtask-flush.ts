// A queue that flushes on an explicit call or, at the latest, in a microtask: a caller that
// forgets to flush only delays its items until the current callback has returned, while a burst
// queued in one callback still leaves in one batch (one sendmmsg, one coalesced TUN write).

/** Schedules at most one pending microtask that runs `flush`; no allocation per request. */
export class MicrotaskFlush {
  #scheduled = false;
  // Created once, so request() on the per-packet path allocates nothing.
  readonly #run: () => void;

  constructor(flush: () => void) {
    this.#run = flush;
  }

  /** Makes sure `flush` runs in a microtask, unless one is already pending. */
  request(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#run);
  }

  /** Call at the start of `flush`: the next request() schedules a new microtask. */
  flushing(): void {
    this.#scheduled = false;
  }
}
