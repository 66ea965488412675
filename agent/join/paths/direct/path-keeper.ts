// Finding and keeping a direct path to every member: runs each member's PathFinder (punch.ts),
// sends its disco probes on the WireGuard socket, answers and learns from the peer's probes,
// reports paths found and lost to the path arbiter (../arbiter.ts), and re-discovers (STUN again, re-announce if our
// candidates moved, punch again) when a path dies or a session found nothing.
import { formatEndpoint, sameEndpoint, type Endpoint } from '../../../../shared/net/address.js';
import { DISCO_PING, peekDisco } from '../../../../shared/wire/disco.js';
import type { Logger } from '../../../../shared/log.js';
import type { Candidate } from '../../nat/candidates.js';
import { AnsweredPings, encodePing, encodePong, openDisco } from './disco.js';
import type { LocalCandidates } from '../../nat/local-candidates.js';
import type { PathEvent, RemoteCandidate } from './punch.js';
import type { Member, RoomMembers } from '../../room/room-members.js';
import { systemJoinClock, type JoinClock, type TunnelPort } from '../../ports.js';
import type { PathArbiters } from '../arbiter.js';

export interface PathKeeperContext {
  tunnel: Pick<TunnelPort, 'sendDatagram' | 'engine' | 'dualStack'>;
  arbiters: PathArbiters;
  clock?: JoinClock;
  local: LocalCandidates;
  members: RoomMembers;
  log: Logger;
  count(what: string): void;
  /** Asks `m`, through the signal server, to start probing `startInMs` from now (no-op offline). */
  requestPunch(m: Member, startInMs: number): void;
  /** Our candidates changed: tell the room. */
  announceUpdate(): void;
  /** One signal server round trip, when measured: about how long a punch request takes to arrive. */
  signalRttMs(): number | undefined;
  /** Birthday punching's extra sockets: datagrams for their virtual endpoints leave through them. */
  sockets?: { send(data: Buffer, to: Endpoint): boolean };
  /** A punching session started: the agent's clock must tick soon (it may be asleep). */
  wake?(): void;
}

const PING_TIMEOUT_MS = 2_000;
/** A punch request for a session this young with the same candidates does not restart it. */
const YOUNG_SESSION_MS = 1_000;

export function describe(list: readonly Candidate[]): string[] {
  return list.map((c) => `${c.kind} ${formatEndpoint(c.endpoint)}`);
}

export class PathKeeper {
  /** When our own candidates were last refreshed by STUN (monotonic ms). */
  lastRefreshAt = 0;
  private rediscovering: Promise<void> = Promise.resolve();
  private readonly pingWaiters = new Map<string, { endpoint: Endpoint; answered: () => void }>();
  private readonly answered = new WeakMap<Member, AnsweredPings>();
  /** When each member's current punching session started. */
  private readonly sessionStartedAt = new WeakMap<Member, number>();
  private closed = false;
  private readonly clock: JoinClock;

  constructor(private readonly c: PathKeeperContext) {
    this.clock = c.clock ?? systemJoinClock;
  }

  private reachable(list: readonly Candidate[]): RemoteCandidate[] {
    return list.filter((x) => x.endpoint.family === 4 || this.c.tunnel.dualStack).map((x) => ({ endpoint: x.endpoint, kind: x.kind }));
  }

  private send(m: Member, txid: Buffer, to: Endpoint): void {
    this.sendDatagram(encodePing(m.keys.discoKey, m.keys.side, m.keys.pairId, txid, this.clock.wallNow()), to);
  }

  private sendDatagram(data: Buffer, to: Endpoint): void {
    if (!this.c.sockets?.send(data, to)) this.c.tunnel.sendDatagram(data, to);
  }

  /** A probe outside the finder's rounds (birthday punching): its pong is matched like any other. */
  probeTo(m: Member, to: Endpoint): void {
    const p = m.finder.probe(to, 'public', this.clock.now());
    this.send(m, p.txid, p.to);
  }

  /** Starts a punching session toward `m`; with `notify`, asks it to start too at about the same moment. */
  punch(m: Member, reason: string, notify: boolean): void {
    const now = this.clock.now();
    // Our request reaches the peer about one server round trip from now: start probing then.
    const delay = notify ? Math.min(500, Math.max(5, Math.round(this.c.signalRttMs() ?? 20))) : 0;
    m.finder.start(this.reachable(m.candidates), now, now + delay);
    this.sessionStartedAt.set(m, now);
    this.c.log.debug('punching', { peer: m.name, reason, candidates: m.finder.describeCandidates(), startInMs: delay });
    if (notify) this.c.requestPunch(m, delay);
    this.tick(m, now);
    this.c.wake?.();
  }

  /** `m` asked us to punch (its candidates may be fresh): start, unless a young session has them already. */
  onPunchRequest(m: Member, candidates: Candidate[]): void {
    const same = candidates.length === m.candidates.length && candidates.every((c) => m.candidates.some((x) => x.kind === c.kind && sameEndpoint(x.endpoint, c.endpoint)));
    if (!same) m.candidates = candidates;
    const startedAt = this.sessionStartedAt.get(m) ?? -Infinity;
    if (same && m.finder.state === 'punching' && this.clock.now() - startedAt < YOUNG_SESSION_MS) return;
    // The sender starts probing about now: so do we.
    this.punch(m, 'asked by peer', false);
  }

  /** When data last moved to or from `m` (engines that cannot tell: now, i.e. always busy). */
  private lastDataAt(m: Member, now: number): number {
    return this.c.tunnel.engine.lastDataAt?.(m.publicKey) ?? now;
  }

  /** When `m`'s path finder next has something to do (see PathFinder.nextDeadline). */
  nextDeadline(m: Member, now: number): number {
    return m.finder.nextDeadline(now, this.lastDataAt(m, now));
  }

  /** Advances `m`'s path finder: probes to send, events to act on. */
  tick(m: Member, now: number): void {
    const endpoint = this.c.tunnel.engine.endpoint(m.publicKey);
    // WireGuard follows authenticated packets to a new source (roaming): so do our heartbeats.
    if (endpoint) m.finder.follow(endpoint, now);
    const { probes, events } = m.finder.tick(now, this.lastDataAt(m, now));
    for (const p of probes) this.send(m, p.txid, p.to);
    for (const e of events) this.onPathEvent(m, e);
  }

  private onPathEvent(m: Member, e: PathEvent): void {
    switch (e.type) {
      case 'adopted':
      case 'switched':
        // The arbiter points the peer there: a handshake on a fresh path, or roaming on a new one.
        this.c.arbiters.directUp(m, e.path, e.type === 'switched');
        break;
      case 'lost':
        this.c.arbiters.directLost(m);
        this.c.log.warn('path lost; re-discovering', { peer: m.name, endpoint: formatEndpoint(e.path.endpoint) });
        this.rediscover([m]);
        break;
      case 'failed':
        this.c.log.info('no direct path found yet; will retry', { peer: m.name, candidates: m.finder.describeCandidates() });
        break;
      case 'retry':
        this.rediscover([m]);
        break;
    }
  }

  /**
   * STUN again (our mapping may have moved); if our candidates changed, re-announce and punch
   * toward everyone, else toward `targets`. Runs one at a time.
   */
  rediscover(targets: Member[]): void {
    const run = async () => {
      const changed = await this.c.local.refresh();
      this.lastRefreshAt = this.clock.now();
      if (changed) {
        this.c.log.info('our candidates changed', { candidates: describe(this.c.local.list()) });
        this.c.announceUpdate();
        targets = this.c.members.all();
      }
      for (const m of targets) if (!this.closed && this.c.members.get(m.publicKey) === m) this.punch(m, changed ? 'our candidates changed' : 'rediscover', true);
    };
    this.rediscovering = this.rediscovering.then(run).catch((e: Error) => {
      this.c.count('internal_errors');
      this.c.log.error('rediscovery failed', { error: e.message });
    });
  }

  /** A disco datagram from the socket: verified with its pair's key, answered or matched. */
  onDisco(data: Buffer, from: Endpoint): void {
    const h = peekDisco(data);
    const m = h && this.c.members.byPair(h.pairId);
    if (!m) return this.c.count('disco_unknown_pair');
    const p = openDisco(m.keys.discoKey, data);
    if (!p) return this.c.count('disco_bad_tag');
    if (p.side === m.keys.side) return this.c.count('disco_reflected');
    const now = this.clock.now();
    if (p.type === DISCO_PING) {
      let seen = this.answered.get(m);
      if (!seen) this.answered.set(m, (seen = new AnsweredPings()));
      if (!seen.firstTime(p, this.clock.wallNow())) return this.c.count('disco_replayed_ping');
      this.sendDatagram(encodePong(m.keys.discoKey, m.keys.side, m.keys.pairId, p.txid, from), from);
      // A source we are not using (a NAT mapping only the path knows, or the peer's NAT rebound):
      // probe it straight back; it also joins the probing rounds.
      const announced = m.candidates.some((c) => sameEndpoint(c.endpoint, from));
      const back = m.finder.pingedFrom(from, announced, now);
      if (back) this.send(m, back.txid, back.to);
      if (m.finder.state === 'idle' && !m.finder.active) this.punch(m, 'probed by peer', false);
      return;
    }
    const event = m.finder.onPong(p.txid, from, now);
    const waiter = this.pingWaiters.get(p.txid.toString('hex'));
    if (waiter && sameEndpoint(waiter.endpoint, from)) waiter.answered();
    if (event) this.onPathEvent(m, event);
  }

  /** `wgp2p ping`: one probe on `m`'s current path; resolves with where and how fast it answered. */
  async ping(m: Member): Promise<{ endpoint: Endpoint; rttMs: number }> {
    const endpoint = m.finder.active?.endpoint ?? this.c.tunnel.engine.endpoint(m.publicKey);
    if (!endpoint) throw new Error(`no path to ${m.name} yet: no direct path and no relay reaches it`);
    const now = this.clock.now();
    const probe = m.finder.probe(endpoint, m.finder.active?.kind ?? 'public', now);
    const key = probe.txid.toString('hex');
    const answered = new Promise<number>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pingWaiters.delete(key);
        reject(new Error(`no answer from ${m.name} via ${formatEndpoint(endpoint)} within ${PING_TIMEOUT_MS / 1000} s`));
      }, PING_TIMEOUT_MS);
      this.pingWaiters.set(key, {
        endpoint,
        answered: () => {
          this.clock.clearTimeout(timer);
          this.pingWaiters.delete(key);
          resolve(this.clock.now() - now);
        },
      });
    });
    this.send(m, probe.txid, endpoint);
    return { endpoint, rttMs: round(await answered) };
  }

  close(): void {
    this.closed = true;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
