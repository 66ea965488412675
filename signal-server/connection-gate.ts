// Admission of new WebSocket connections: a server-wide cap, per-address and per-network caps,
// and a per-address rate of new connections. IPv6 clients are grouped by /64, the block one
// subscriber usually gets, so rotating addresses inside it does not multiply the budget.
import type { Limits } from './config.js';
import { hostGroup, subnetGroup } from '../shared/net/address-group.js';
import { KeyedRateLimiter } from '../shared/rate-limit.js';

export type Refusal = 'server_full' | 'ip_connection_cap' | 'subnet_connection_cap' | 'ip_connect_rate';

/** The groups every per-address limit keys by (shared/net/address-group.ts). */
export function originOf(address: string): Origin {
  return { host: hostGroup(address), subnet: subnetGroup(address) };
}

type GateLimits = Pick<Limits, 'maxConnections' | 'maxConnectionsPerIp' | 'maxConnectionsPerSubnet' | 'connectRatePerIp' | 'connectBurstPerIp'>;

/** Where a connection comes from, grouped: its address (IPv6 /64) and its network (/24, /56). */
export interface Origin {
  host: string;
  subnet: string;
}

export class ConnectionGate {
  private readonly open = new Map<string, number>();
  private readonly openBySubnet = new Map<string, number>();
  private readonly attempts: KeyedRateLimiter;
  private total = 0;

  constructor(private readonly limits: GateLimits) {
    this.attempts = new KeyedRateLimiter(limits.connectRatePerIp, limits.connectBurstPerIp);
  }

  /** Reserves a slot for `origin`, or says why not. Pair every success with `release`. */
  admit(origin: Origin, now: number): Refusal | undefined {
    if (this.total >= this.limits.maxConnections) return 'server_full';
    const current = this.open.get(origin.host) ?? 0;
    if (current >= this.limits.maxConnectionsPerIp) return 'ip_connection_cap';
    if ((this.openBySubnet.get(origin.subnet) ?? 0) >= this.limits.maxConnectionsPerSubnet) return 'subnet_connection_cap';
    if (!this.attempts.allow(origin.host, now)) return 'ip_connect_rate';
    this.open.set(origin.host, current + 1);
    this.openBySubnet.set(origin.subnet, (this.openBySubnet.get(origin.subnet) ?? 0) + 1);
    this.total++;
    return undefined;
  }

  release(origin: Origin): void {
    const current = this.open.get(origin.host) ?? 0;
    if (current > 0) this.total--;
    decrement(this.open, origin.host);
    decrement(this.openBySubnet, origin.subnet);
  }

  sweep(now: number): void {
    this.attempts.sweep(now);
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const n = counts.get(key) ?? 0;
  if (n <= 1) counts.delete(key);
  else counts.set(key, n - 1);
}
