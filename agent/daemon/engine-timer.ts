// Drives the engine's timers with one real timer, armed for the earliest deadline the engine
// reports (Device.nextDeadline) and re-armed sooner when the engine sets an earlier one
// (Device.onTimerArmed): an idle tunnel sleeps until a keepalive or handshake is due instead of
// waking ten times a second.
import type { Device } from '../wireguard/device.js';

/**
 * libuv times from the start of the loop iteration (in whole ms), so a timer can fire a little
 * before the engine's clock reaches the deadline: waking this much later saves a second wake-up.
 */
const LATE_MS = 1;
/** Real timers, or a test's fake clock. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Node's timer limit (about 24.8 days); a later deadline is re-checked then. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class EngineTimer {
  private timer: unknown;
  private armedAt = Infinity;
  private stopped = false;
  /** Times the engine was ticked (for tests and diagnostics). */
  wakeups = 0;

  constructor(
    private readonly device: Device,
    private readonly timers: Timers = realTimers,
  ) {
    device.onTimerArmed = (at) => this.want(at);
    this.want(device.nextDeadline() ?? Infinity);
  }

  /** Makes sure the engine is ticked at `at` (engine clock) or earlier. */
  private want(at: number): void {
    if (this.stopped || at >= this.armedAt) return;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = at;
    if (at === Infinity) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, Math.ceil(at - this.device.now())) + LATE_MS);
    this.timer = this.timers.setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    this.wakeups++;
    this.device.tick();
    this.want(this.device.nextDeadline() ?? Infinity);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.device.onTimerArmed = undefined;
  }
}
