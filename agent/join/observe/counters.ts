// The agent's own counters (rejected inputs, internal errors), shown by status and metrics, and
// the guard every event handler runs under.
import type { Logger } from '../../../shared/log.js';

export class AgentCounters {
  readonly values = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  count(what: string): void {
    this.values.set(what, (this.values.get(what) ?? 0) + 1);
  }

  /**
   * Runs one event handler. Inputs are validated before they get here, but a bug on one input
   * must cost that input only, never the tunnels: log it, count it, carry on.
   */
  guarded<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.count('internal_errors');
      this.log.error('internal error; input dropped', { in: what, error: (e as Error).stack ?? String(e) });
      return undefined;
    }
  }
}
