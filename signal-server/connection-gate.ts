// Admission of new WebSocket connections: a server-wide cap, a per-address cap, and a
// per-address rate of new connections. IPv6 clients are grouped by /64, the block one
// subscriber usually gets, so rotating addresses inside it does not multiply the budget.
import type { Limits } from './config.js';
import { KeyedRateLimiter } from '../shared/rate-limit.js';

export type Refusal = 'server_full' | 'ip_connection_cap' | 'ip_connect_rate';

/** The key of every per-address limit (shared/net/address-group.ts). */
export { hostGroup as addressKey } from '../shared/net/address-group.js';

type GateLimits = Pick<Limits, 'maxConnections' | 'maxConnectionsPerIp' | 'connectRatePerIp' | 'connectBurstPerIp'>;

export class ConnectionGate {
  private readonly open = new Map<string, number>();
  private readonly attempts: KeyedRateLimiter;
  private total = 0;

  constructor(private readonly limits: GateLimits) {
    this.attempts = new KeyedRateLimiter(limits.connectRatePerIp, limits.connectBurstPerIp);
  }

  /** Reserves a slot for `key`, or says why not. Pair every success with `release`. */
  admit(key: string, now: number): Refusal | undefined {
    if (this.total >= this.limits.maxConnections) return 'server_full';
    const current = this.open.get(key) ?? 0;
    if (current >= this.limits.maxConnectionsPerIp) return 'ip_connection_cap';
    if (!this.attempts.allow(key, now)) return 'ip_connect_rate';
    this.open.set(key, current + 1);
    this.total++;
    return undefined;
  }

  release(key: string): void {
    const current = this.open.get(key) ?? 0;
    if (current <= 1) this.open.delete(key);
    else this.open.set(key, current - 1);
    if (current > 0) this.total--;
  }

  sweep(now: number): void {
    this.attempts.sweep(now);
  }
}
