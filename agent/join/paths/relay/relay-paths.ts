// Relayed paths to members we have no direct path to. When punching has not found one within a
// short budget (at once when the two NATs are known to defeat punching), the member's WireGuard
// peer is pointed at a virtual endpoint (relay-endpoint.ts) standing for "member M through relay
// R": what the engine sends there is wrapped and sent to R, and what R delivers from M is handed to
// the engine as coming from there. The WireGuard session is the same one either way, so moving
// between direct and relayed paths needs no handshake. PathKeeper keeps punching in the
// background; the first direct path it adopts wins over the relay. When to relay, through which
// relay, and pointing the peer there are the path arbiter's (../arbiter.ts): this file reports.
//
// Disco probes travel the relayed path too, every couple of seconds: they measure its RTT and
// tell when a relay no longer reaches the member (e.g. the member is not bound there), so we move
// to another. Both ends pick the relay with the lowest RTT they see; to converge on one relay the
// higher-keyed end follows the one its peer's packets arrive through.
import { formatEndpoint, type Endpoint } from '../../../../shared/net/address.js';
import { DISCO_PING, looksLikeDisco } from '../../../../shared/wire/disco.js';
import { looksLikeWireGuard, messageType, MSG_INITIATION } from '../../../../shared/wire/wireguard.js';
import type { Logger } from '../../../../shared/log.js';
import { AnsweredPings, encodePing, encodePong, newTxid, openDisco } from '../direct/disco.js';
import { isRelayEndpoint, parseRelayEndpoint, relayEndpoint } from './relay-endpoint.js';
import type { RelayLink, RelayLinks } from './relay-links.js';
import type { Member, RoomMembers } from '../../room/room-members.js';
import type { JoinClock, JoinEngine } from '../../ports.js';
import { systemJoinClock } from '../../ports.js';
import { RELAY_FOLLOW_MS, type PathArbiters } from '../arbiter.js';
import { SlotCounter } from '../slots.js';

export interface RelayPathsContext {
  engine: Pick<JoinEngine, 'endpoint' | 'receive' | 'authenticatedBytes' | 'hasPeer'>;
  links: RelayLinks;
  members: RoomMembers;
  arbiters: PathArbiters;
  clock?: JoinClock;
  log: Logger;
  count(what: string): void;
}

export interface RelayTiming {
  /** Punching gets this long to find a direct path before we relay. */
  budgetMs: number;
  heartbeatMs: number;
  /** A relayed path without a disco answer for this long does not reach the member. */
  pathTimeoutMs: number;
  /** ... and that relay is not tried again for the member for this long. */
  avoidMs: number;
}

export const DEFAULT_RELAY_TIMING: RelayTiming = { budgetMs: 1_500, heartbeatMs: 2_000, pathTimeoutMs: 6_000, avoidMs: 30_000 };

const PING_TIMEOUT_MS = 2_000;

interface RelayState {
  slot: number;
  link: RelayLink | undefined;
  since: number;
  follow: { link: RelayLink; at: number } | undefined;
  avoid: Map<RelayLink, number>;
  pingAt: number;
  answeredAt: number;
  rttMs: number | undefined;
  outstanding: Map<string, { link: RelayLink; sentAt: number; answered?: (rttMs: number) => void }>;
  answered: AnsweredPings;
  /** Virtual endpoints made for this member, by link (built once: the receive path needs them per packet). */
  virtual: Map<RelayLink, Endpoint>;
}

export interface RelayedPathInfo {
  relay: string;
  endpoint: string;
  rttMs: number | undefined;
}

export class RelayPaths {
  private readonly states = new Map<Member, RelayState>();
  private readonly bySlot = new Map<number, Member>();
  private readonly slots = new SlotCounter();
  private readonly timing: RelayTiming;
  private readonly clock: JoinClock;

  constructor(
    private readonly c: RelayPathsContext,
    timing: Partial<RelayTiming> = {},
  ) {
    this.timing = { ...DEFAULT_RELAY_TIMING, ...timing };
    this.clock = c.clock ?? systemJoinClock;
  }

  private state(m: Member): RelayState {
    let st = this.states.get(m);
    if (!st) {
      st = { slot: this.slots.take(this.bySlot), link: undefined, since: 0, follow: undefined, avoid: new Map(), pingAt: -Infinity, answeredAt: -Infinity, rttMs: undefined, outstanding: new Map(), answered: new AnsweredPings(), virtual: new Map() };
      this.states.set(m, st);
      this.bySlot.set(st.slot, m);
    }
    return st;
  }

  forget(m: Member): void {
    const st = this.states.get(m);
    if (!st) return;
    this.states.delete(m);
    if (this.bySlot.get(st.slot) === m) this.bySlot.delete(st.slot);
  }

  /** Some member goes through `link` now. */
  uses(link: RelayLink): boolean {
    for (const st of this.states.values()) if (st.link === link) return true;
    return false;
  }

  /**
   * When tick(m) next has something to do: a heartbeat, a silent relay to leave, a follow or an
   * avoidance running out (the relay budget is the arbiter's deadline). Infinity when nothing.
   */
  nextDeadline(m: Member, now: number): number {
    const st = this.states.get(m);
    if (!st) return Infinity;
    if (this.c.arbiters.hasDirect(m)) return st.link ? now : Infinity;
    let at = Infinity;
    for (const until of st.avoid.values()) if (until > now) at = Math.min(at, until);
    if (!st.link) return at;
    const t = this.timing;
    at = Math.min(at, Math.max(st.since, st.answeredAt) + t.pathTimeoutMs + 1, st.pingAt + t.heartbeatMs);
    if (st.follow) at = Math.min(at, st.follow.at + RELAY_FOLLOW_MS);
    return at;
  }

  /** A relayed path to `m` is in use and answered disco within the path timeout. */
  answering(m: Member, now: number): boolean {
    const st = this.states.get(m);
    return !!st?.link && now - st.answeredAt <= this.timing.pathTimeoutMs;
  }

  /** The relayed path in use for `m`, for status. */
  info(m: Member): RelayedPathInfo | undefined {
    const st = this.states.get(m);
    const link = st?.link;
    if (!st || !link) return undefined;
    return { relay: link.label, endpoint: link.endpoint ? formatEndpoint(link.endpoint) : link.kind, rttMs: st.rttMs };
  }

  private virtual(st: RelayState, link: RelayLink): Endpoint {
    let e = st.virtual.get(link);
    if (!e) st.virtual.set(link, (e = relayEndpoint(link.slot, st.slot)));
    return e;
  }

  /** The engine's send path: a datagram for a virtual endpoint goes through its relay. */
  send(data: Buffer, to: Endpoint): boolean {
    if (!isRelayEndpoint(to)) return false;
    // Parsed once per virtual endpoint; the slots are looked up every time (links and members go).
    let v = this.parsed.get(to.address);
    if (!v) {
      v = parseRelayEndpoint(to);
      if (v && this.parsed.size < 4096) this.parsed.set(to.address, v);
    }
    const link = v && this.c.links.slot(v.linkSlot);
    const m = v && this.bySlot.get(v.memberSlot);
    if (!link || !m || !this.c.links.send(link, m.memberId, data)) this.c.count('relay_send_dropped');
    return true;
  }

  private readonly parsed = new Map<string, { linkSlot: number; memberSlot: number }>();

  /** A payload relayed to us from member id `from` through `link`. */
  onRelayed(link: RelayLink, from: string, payload: Buffer, now = this.clock.now()): void {
    const m = this.c.members.byMember(from);
    if (!m) {
      this.c.count('relay_unknown_source');
      // A key that is no member (never admitted, or removed) trying a WireGuard handshake: it ends
      // here, before the engine, and is counted apart so a refused handshake is visible.
      if (messageType(payload) === MSG_INITIATION) this.c.count('handshake_refused_not_member');
      return;
    }
    const st = this.state(m);
    if (looksLikeDisco(payload)) return this.onDisco(m, st, link, payload, now);
    if (!looksLikeWireGuard(payload)) return this.c.count('relay_not_wireguard');
    const engine = this.c.engine;
    if (!engine.hasPeer(m.publicKey)) return;
    // The direct path's endpoint is looked up only when there is one (a peer lookup per packet less).
    const endpoint = this.c.arbiters.hasDirect(m) ? engine.endpoint(m.publicKey) : undefined;
    if (endpoint && !isRelayEndpoint(endpoint)) {
      // We have a direct path: late relayed packets must not pull the session back to the relay.
      engine.receive(payload, endpoint);
    } else if (m.keys.side === 0 && st.link?.up) {
      engine.receive(payload, this.virtual(st, st.link));
    } else {
      const before = engine.authenticatedBytes(m.publicKey);
      engine.receive(payload, this.virtual(st, link));
      // Only what the engine authenticated steers the follower, so junk shaped like WireGuard
      // cannot move our path onto a relay of someone else's choosing.
      if (engine.authenticatedBytes(m.publicKey) !== before) st.follow = { link, at: now };
    }
  }

  /** The relay says `id` is not bound there: stop using it for that member for a while. */
  onUnreachable(link: RelayLink, id: string, now = this.clock.now()): void {
    const m = this.c.members.byMember(id);
    if (!m) return;
    const st = this.state(m);
    st.avoid.set(link, now + this.timing.avoidMs);
    if (st.link === link) {
      this.c.log.info('relay does not reach the member; trying another', { peer: m.name, relay: link.label });
      this.drop(m, st);
    }
  }

  /** A link went down: its members choose again on their next tick. A removed one is forgotten. */
  linkDown(link: RelayLink): void {
    const removed = this.c.links.get(link.key) !== link;
    for (const [m, st] of this.states) {
      if (removed) {
        st.avoid.delete(link);
        st.virtual.delete(link);
      }
      if (st.follow?.link === link) st.follow = undefined;
      if (st.link === link) {
        this.c.log.warn('relay lost; moving', { peer: m.name, relay: link.label });
        this.drop(m, st);
      }
    }
  }

  tick(m: Member, now: number): void {
    const st = this.state(m);
    const allowed = this.c.arbiters.relayAllowed(m, now);
    if (this.c.arbiters.hasDirect(m)) {
      if (st.link) this.c.log.info('direct path replaces the relay', { peer: m.name, relay: st.link.label });
      this.drop(m, st);
      return;
    }
    if (!allowed && !st.link) return;
    const t = this.timing;
    if (st.link && now - st.since > t.pathTimeoutMs && now - st.answeredAt > t.pathTimeoutMs) {
      this.c.log.warn('relayed path silent; trying another relay', { peer: m.name, relay: st.link.label });
      st.avoid.set(st.link, now + t.avoidMs);
      if (st.follow?.link === st.link) st.follow = undefined;
      this.drop(m, st);
    }
    const want = this.choose(m, st, now);
    if (want !== st.link) this.use(m, st, want, now);
    if (st.link && now - st.pingAt >= t.heartbeatMs) this.ping(m, st, st.link, now);
  }

  /** `m` no longer uses a relay. */
  private drop(m: Member, st: RelayState): void {
    if (!st.link) return;
    st.link = undefined;
    this.c.arbiters.relayLost(m);
  }

  private use(m: Member, st: RelayState, link: RelayLink | undefined, now: number): void {
    const previous = st.link;
    st.link = link;
    st.since = now;
    st.answeredAt = -Infinity;
    st.rttMs = undefined;
    if (!link) {
      this.c.arbiters.relayLost(m);
      this.c.log.warn('no relay reaches the member', { peer: m.name });
      return;
    }
    this.c.links.wake(link, now);
    if (!this.c.engine.hasPeer(m.publicKey)) return;
    // The arbiter points the peer there: a handshake if there is no session yet, else roaming.
    this.c.arbiters.relayUp(m, this.virtual(st, link));
    this.c.log.info(previous ? 'moved to another relay' : 'relayed path up', { peer: m.name, relay: link.label, from: previous?.label });
    this.ping(m, st, link, now);
  }

  private choose(m: Member, st: RelayState, now: number): RelayLink | undefined {
    const usable = this.c.links.all().filter((l) => l.up && l.key !== m.key && !((st.avoid.get(l) ?? -Infinity) > now));
    return this.c.arbiters.pickRelay(m, usable, st.link, st.follow, now);
  }

  private ping(m: Member, st: RelayState, link: RelayLink, now: number, answered?: (rttMs: number) => void): void {
    st.pingAt = now;
    const txid = newTxid();
    st.outstanding.set(txid.toString('hex'), { link, sentAt: now, answered });
    for (const [k, o] of st.outstanding) if (now - o.sentAt > this.timing.pathTimeoutMs) st.outstanding.delete(k);
    this.c.links.send(link, m.memberId, encodePing(m.keys.discoKey, m.keys.side, m.keys.pairId, txid, this.clock.wallNow()));
  }

  private onDisco(m: Member, st: RelayState, link: RelayLink, payload: Buffer, now: number): void {
    const p = openDisco(m.keys.discoKey, payload);
    if (!p) return this.c.count('disco_bad_tag');
    if (p.side === m.keys.side) return this.c.count('disco_reflected');
    if (p.type === DISCO_PING) {
      if (!st.answered.firstTime(p, this.clock.wallNow())) return this.c.count('disco_replayed_ping');
      this.c.links.send(link, m.memberId, encodePong(m.keys.discoKey, m.keys.side, m.keys.pairId, p.txid, this.virtual(st, link)));
      return;
    }
    const key = p.txid.toString('hex');
    const o = st.outstanding.get(key);
    if (!o || o.link !== link) return;
    st.outstanding.delete(key);
    const rtt = now - o.sentAt;
    if (st.link === link) {
      st.answeredAt = now;
      st.rttMs = Math.round(rtt * 100) / 100;
    }
    o.answered?.(rtt);
  }

  /** `wgp2p ping` over the relayed path in use. */
  async pingOnce(m: Member): Promise<{ relay: string; rttMs: number }> {
    const st = this.states.get(m);
    const link = st?.link;
    if (!st || !link) throw new Error(`no path to ${m.name} yet: no direct path and no relay reaches it`);
    const rtt = await new Promise<number>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => reject(new Error(`no answer from ${m.name} via relay ${link.label} within ${PING_TIMEOUT_MS / 1000} s`)), PING_TIMEOUT_MS);
      this.ping(m, st, link, this.clock.now(), (ms) => {
        this.clock.clearTimeout(timer);
        resolve(ms);
      });
    });
    return { relay: link.label, rttMs: Math.round(rtt * 100) / 100 };
  }
}
