// `--exit-node NAME`: our default route goes through that member. Like the hub, it is chosen by
// the member that routes through it, never by its own offer: the member named (or keyed) so that
// announces `--advertise-exit-node`; two such members (an insider may copy the name) mean none
// rather than a guess. While it is in the room its peer holds 0.0.0.0/0 (and ::/0 when it offers
// IPv6) in the engine and the host's default routes point into the tunnel (ExitRoutePort,
// wg-quick's table/fwmark/rules; IPv6 to an exit node without IPv6 is dropped there, no leak);
// when it leaves or stops offering, both go at once and normal routing is back (no black hole).
import { parsePrefix } from '../../../shared/net/address.js';
import type { Logger } from '../../../shared/log.js';
import type { JoinEngine } from '../ports.js';

const DEFAULT_V4 = parsePrefix('0.0.0.0/0');
const DEFAULT_V6 = parsePrefix('::/0');

/** The host's default route through the tunnel (host.ts: policy routing; tests: a fake). */
export interface ExitRoutePort {
  up(): Promise<void>;
  down(): void;
}

export interface ExitCandidate {
  key: string;
  publicKey: Buffer;
  name: string;
  exitNode: boolean;
  /** It carries IPv6 too. */
  exitNode6?: boolean;
}

/** Our exit node among `members`: `choice` is its name or base64 public key; undefined without one. */
export function chosenExitNode<M extends ExitCandidate>(members: readonly M[], choice: string | undefined): M | undefined {
  if (choice === undefined) return undefined;
  const named = members.filter((m) => m.exitNode && (m.key === choice || m.name === choice));
  return named.length === 1 ? named[0] : undefined;
}

export interface ExitNodeContext {
  engine: Pick<JoinEngine, 'allow' | 'disallow'>;
  choice: string;
  route: ExitRoutePort | undefined;
  log: Logger;
  count(what: string): void;
}

export class ExitNodeRouting {
  private current: ExitCandidate | undefined;
  /** Whether current holds ::/0 in the engine, and whether it offered IPv6 (members change in place). */
  private current6 = false;
  private offered6 = false;
  private warnedMissing = false;

  constructor(private readonly c: ExitNodeContext) {}

  get inUse(): string | undefined {
    return this.current?.name;
  }

  /** Whether our IPv6 goes through the exit node in use (else it is dropped); undefined without one. */
  get inUse6(): boolean | undefined {
    return this.current && this.current6;
  }

  apply(members: readonly ExitCandidate[]): void {
    const c = this.c;
    const next = chosenExitNode(members, c.choice);
    const held = this.current;
    if (next?.key === held?.key && !!next?.exitNode6 === this.offered6) return;
    this.release();
    if (next && c.engine.allow(DEFAULT_V4, next.publicKey)) {
      this.current = next;
      this.offered6 = !!next.exitNode6;
      this.current6 = this.offered6 && c.engine.allow(DEFAULT_V6, next.publicKey);
      this.warnedMissing = false;
      const ipv6 = this.current6 ? 'through the exit node' : 'dropped (the exit node offers no IPv6)';
      if (next.key !== held?.key) c.log.info(held ? 'exit node switched' : 'default route through the exit node', { exitNode: next.name, ipv6, ...(held && { from: held.name }) });
      else c.log.info('exit node changed its IPv6 offer', { exitNode: next.name, ipv6 });
      if (!held) c.route?.up().catch((e: Error) => this.failed(e));
      return;
    }
    this.current = undefined;
    if (held) {
      c.count('exit_node_lost');
      c.log.warn('exit node gone; normal routing restored', { exitNode: held.name });
      c.route?.down();
    } else if (!this.warnedMissing) {
      this.warnedMissing = true;
      c.log.warn('exit node not in the room (or not offering, or its name is ambiguous); routing normally', { exitNode: c.choice });
    }
  }

  /** The host refused the default route: the engine's 0.0.0.0/0 goes too, traffic stays local. */
  private failed(e: Error): void {
    this.c.log.error('cannot route the default through the exit node', { error: e.message });
    this.release();
    this.current = undefined;
    this.c.route?.down();
  }

  /** The engine's default routes of the current exit node go (the host's stay: callers decide). */
  private release(): void {
    const held = this.current;
    if (!held) return;
    this.c.engine.disallow(DEFAULT_V4, held.publicKey);
    if (this.current6) this.c.engine.disallow(DEFAULT_V6, held.publicKey);
    this.current6 = false;
  }

  close(): void {
    if (this.current) this.c.route?.down();
    this.current = undefined;
  }
}
