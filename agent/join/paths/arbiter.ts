// The one place that decides which path a member's WireGuard peer uses, and the only join code
// that sets a peer's endpoint: direct beats relay, relay beats hub. Path finding (PathKeeper) and
// the relayed paths (RelayPaths) only report to it: a direct path up, switched or lost, a relay
// path up or lost. Its rules, with their hysteresis:
//  - a direct path, once found, is used at once (and the relay dropped by RelayPaths on its tick);
//  - relaying starts only after punching had a budget to find a direct path, at once when the two
//    NATs are known to defeat punching (punchingHopeless);
//  - among relays: UDP before the WebSocket, by RTT, replacing the one in use only when clearly
//    better (RELAY_SWITCH_RATIO); the higher-keyed end follows the relay its peer's packets come
//    through (RELAY_FOLLOW_MS), so both ends converge on one relay;
//  - a member with no direct path and no relay, once relaying was allowed, goes through the hub.
// The engine's own roaming (WireGuard following authenticated packets) stays in the engine.
import { formatEndpoint, type Endpoint } from '../../../shared/net/address.js';
import type { Logger } from '../../../shared/log.js';
import type { NatInfo } from '../room/announcement.js';
import type { Member } from '../room/room-members.js';
import type { JoinEngine } from '../ports.js';
import type { Path } from './direct/punch.js';

/** The follower keeps using the relay its peer's packets came through while they keep coming. */
export const RELAY_FOLLOW_MS = 10_000;
/** A relay replaces the one in use only if its RTT is below this fraction of it. */
export const RELAY_SWITCH_RATIO = 0.7;

/** True when the two NATs defeat hole punching (endpoint-dependent mapping against one that filters by port too). */
export function punchingHopeless(a: NatInfo, b: NatInfo): boolean {
  const edm = (n: NatInfo) => n.mapping === 'endpoint-dependent';
  return (edm(a) && (edm(b) || b.filtering === 'port-dependent')) || (edm(b) && a.filtering === 'port-dependent');
}

/** What the arbiter needs of a relay to rank it. */
export interface RelayOption {
  kind: string;
  rttMs: number | undefined;
}

export type Route = 'direct' | 'relay' | 'hub' | 'none';

export interface ArbiterContext {
  engine: Pick<JoinEngine, 'setEndpoint'>;
  log: Logger;
  ourNat(): NatInfo;
  /** Punching gets this long to find a direct path before we relay. */
  relayBudgetMs(): number;
}

interface ArbiterState {
  direct: Path | undefined;
  relay: Endpoint | undefined;
  /** When relaying becomes allowed (Infinity while a direct path exists or none was sought). */
  relayAllowedAt: number;
}

export class PathArbiters {
  private readonly states = new WeakMap<Member, ArbiterState>();

  constructor(private readonly c: ArbiterContext) {}

  private state(m: Member): ArbiterState {
    let st = this.states.get(m);
    if (!st) this.states.set(m, (st = { direct: undefined, relay: undefined, relayAllowedAt: Infinity }));
    return st;
  }

  route(m: Member): Route {
    const st = this.states.get(m);
    return st?.direct ? 'direct' : st?.relay ? 'relay' : m.viaHub ? 'hub' : 'none';
  }

  hasDirect(m: Member): boolean {
    return !!this.states.get(m)?.direct;
  }

  // --- reports from path finding -------------------------------------------------------------

  /** PathKeeper found a direct path (or a better one): it wins over any relay. */
  directUp(m: Member, path: Path, switched: boolean): void {
    const st = this.state(m);
    st.direct = path;
    this.c.engine.setEndpoint(m.publicKey, path.endpoint);
    this.c.log.info(switched ? 'switched to a better path' : 'direct path up', { peer: m.name, endpoint: formatEndpoint(path.endpoint), kind: path.kind, rttMs: Math.round(path.rttMs * 100) / 100 });
  }

  /** The direct path stopped answering; the relay budget starts on the next relay tick. */
  directLost(m: Member): void {
    this.state(m).direct = undefined;
  }

  // --- reports from the relayed paths ----------------------------------------------------------

  /** May RelayPaths relay `m` now? Starts the relay budget the first time it is asked. */
  relayAllowed(m: Member, now: number): boolean {
    const st = this.state(m);
    if (st.direct) {
      st.relayAllowedAt = Infinity;
      return false;
    }
    if (st.relayAllowedAt === Infinity) st.relayAllowedAt = now + (punchingHopeless(this.c.ourNat(), m.nat) ? 0 : this.c.relayBudgetMs());
    return now >= st.relayAllowedAt;
  }

  /** Which relay `m` should use among `usable` (those up and not avoided). */
  pickRelay<L extends RelayOption>(m: Member, usable: readonly L[], current: L | undefined, follow: { link: L; at: number } | undefined, now: number): L | undefined {
    if (usable.length === 0) return undefined;
    if (m.keys.side === 1 && follow && usable.includes(follow.link) && now - follow.at < RELAY_FOLLOW_MS) return follow.link;
    // UDP relays first, by RTT; the WebSocket only when no UDP relay answers.
    const rank = (l: L) => (l.kind === 'ws' ? 1e9 : 0) + (l.rttMs ?? 1e6);
    const best = usable.reduce((a, b) => (rank(b) < rank(a) ? b : a));
    if (current && usable.includes(current) && rank(best) > rank(current) * RELAY_SWITCH_RATIO) return current;
    return best;
  }

  /** A relayed path to `m` is in use at virtual endpoint `at`; a direct path still wins. */
  relayUp(m: Member, at: Endpoint): void {
    const st = this.state(m);
    st.relay = at;
    if (!st.direct) this.c.engine.setEndpoint(m.publicKey, at);
  }

  relayLost(m: Member): void {
    this.state(m).relay = undefined;
  }

  // --- the hub, last ---------------------------------------------------------------------------

  /** No direct path, no relay, and punching had its chance. */
  stranded(m: Member, now: number): boolean {
    const st = this.states.get(m);
    return !!st && !st.direct && !st.relay && now >= st.relayAllowedAt;
  }

  /** When relaying `m` becomes allowed (and with it the hub), if that is still ahead; else Infinity. */
  nextDeadline(m: Member, now: number): number {
    const st = this.states.get(m);
    return st && !st.direct && st.relayAllowedAt > now ? st.relayAllowedAt : Infinity;
  }

  /** Sets whether `m` goes through `hub`; true when that changed (its address routing must follow). */
  updateHub(m: Member, hub: Member | undefined, now: number): boolean {
    const viaHub = !!hub && m !== hub && this.stranded(m, now);
    if (viaHub === m.viaHub) return false;
    m.viaHub = viaHub;
    this.c.log.info(viaHub ? 'no direct path and no relay: reaching the member through the hub' : 'the member no longer goes through the hub', { peer: m.name, hub: hub?.name });
    return true;
  }
}
