// Path finding toward one peer, as a pure state machine over explicit time: the agent feeds it
// candidates, pongs and `tick(now)`, and sends the probes it returns. No sockets, no timers.
//
// A punching session probes every candidate of the peer in rounds, first densely and then
// backing off, for a bounded window. The first pair that answers is adopted at once; probing
// goes on a little longer (settleMs) so a LAN path can beat a public one and a faster path a
// slower one. Once settled, the active path is probed every heartbeatMs while data moves on it,
// every idleHeartbeatMs once it has carried none for idleAfterMs (an idle tunnel costs little),
// and every heartbeatMs again as soon as data moves or a heartbeat goes unanswered. A path is
// lost when it has not answered for pathTimeoutMs, counted from the first unanswered heartbeat
// less one heartbeatMs (so an idle path gets as many tries as a busy one); a session that finds
// nothing is retried with backoff.
//
// Candidates are what a member announces, so an insider could point them at a third party: we
// probe at most MAX_PROBED_CANDIDATES announced ones, and one that never answered after
// MAX_UNANSWERED_PROBES probes only in the first DEAD_ROUNDS rounds of later sessions.
import { formatEndpoint, sameEndpoint, type Endpoint } from '../../../../shared/net/address.js';
import type { CandidateKind } from '../../nat/candidates.js';
import { newTxid } from './disco.js';

export type PathKind = CandidateKind;

export interface RemoteCandidate {
  endpoint: Endpoint;
  kind: PathKind;
}

export interface Path {
  endpoint: Endpoint;
  kind: PathKind;
  /** Latest round-trip time measured on this path. */
  rttMs: number;
  /** When it last answered (monotonic ms). */
  lastAnswerAt: number;
}

export interface PunchTiming {
  /** Gaps between probe rounds while punching; the last one repeats. */
  roundGapsMs: readonly number[];
  /** A session probes for at most this long. */
  windowMs: number;
  /** After the first answer, other candidates are still probed this long. */
  settleMs: number;
  heartbeatMs: number;
  pathTimeoutMs: number;
  /** Probes unanswered this long are forgotten. */
  probeTimeoutMs: number;
  /** A path of the same kind replaces the active one only when its RTT is below ratio × active. */
  switchRatio: number;
  /** ... and at least this many milliseconds lower (sub-millisecond noise never switches). */
  switchMinGainMs: number;
  /** Waits before retrying after a session found nothing: doubling from first to max. */
  retryFirstMs: number;
  retryMaxMs: number;
  /** A path that carried no data for this long is idle... */
  idleAfterMs?: number;
  /** ... and heartbeats this seldom (the WireGuard keepalive keeps the NAT mapping meanwhile). */
  idleHeartbeatMs?: number;
}

export const DEFAULT_PUNCH_TIMING: PunchTiming = {
  roundGapsMs: [50, 100, 200, 400, 800, 1000],
  windowMs: 10_000,
  settleMs: 1_000,
  heartbeatMs: 2_000,
  pathTimeoutMs: 6_500,
  probeTimeoutMs: 5_000,
  switchRatio: 0.8,
  switchMinGainMs: 1,
  retryFirstMs: 5_000,
  // A pair that could not punch is relayed meanwhile; retrying this often lets it move to a
  // direct path within about half a minute of one becoming possible (a NAT that changed).
  retryMaxMs: 10_000,
  idleAfterMs: 10_000,
  idleHeartbeatMs: 20_000,
};

/** Peer-reflexive candidates (learned from pings) kept per peer. */
const MAX_LEARNED = 4;
const REVERSE_PROBE_GAP_MS = 1_000;
/** Candidates probed per round (an honest member announces a handful). */
export const MAX_PROBED_CANDIDATES = 8;
/** Probes to a candidate that never answered before it counts as dead... */
export const MAX_UNANSWERED_PROBES = 6;
/** ... after which each session probes it in its first rounds only (it may come alive). */
const DEAD_ROUNDS = 2;
/** Unanswered-probe counts remembered per peer. */
const MAX_TRACKED = 64;

export interface Probe {
  txid: Buffer;
  to: Endpoint;
}

export type PathEvent =
  | { type: 'adopted'; path: Path }
  | { type: 'switched'; path: Path; previous: Path }
  | { type: 'lost'; path: Path }
  | { type: 'failed' }
  | { type: 'retry' };

export type PunchState = 'idle' | 'punching' | 'settled';

interface Outstanding {
  to: Endpoint;
  kind: PathKind;
  sentAt: number;
}

export function betterPath(a: Path, b: Path, t: Pick<PunchTiming, 'switchRatio' | 'switchMinGainMs'>): boolean {
  // A LAN path beats any other; public and portmap paths rank alike, by RTT.
  if ((a.kind === 'lan') !== (b.kind === 'lan')) return a.kind === 'lan';
  return a.rttMs < b.rttMs * t.switchRatio && b.rttMs - a.rttMs >= t.switchMinGainMs;
}

export class PathFinder {
  state: PunchState = 'idle';
  active: Path | undefined;
  private candidates: RemoteCandidate[] = [];
  private learned: RemoteCandidate[] = [];
  private readonly outstanding = new Map<string, Outstanding>();
  private round = 0;
  private nextRoundAt = 0;
  private deadline = 0;
  private firstAnswerAt: number | undefined;
  private lastHeartbeatAt = -Infinity;
  /** The first heartbeat sent since the active path last answered (undefined: it answered since). */
  private unansweredSince: number | undefined;
  /** Heartbeats stay at heartbeatMs until then, data or not (keepBusy). */
  private busyUntil = -Infinity;
  private failures = 0;
  private retryAt: number | undefined;
  /** When we last probed back an address that pinged us, by address. */
  private readonly reverseProbes = new Map<string, number>();
  /** Probes sent to each address since it last answered (never answered: since first probed). */
  private readonly unanswered = new Map<string, number>();

  constructor(
    private readonly timing: PunchTiming = DEFAULT_PUNCH_TIMING,
    private readonly makeTxid: () => Buffer = newTxid,
  ) {}

  /** (Re)starts a session toward `candidates`, its first round at `at` (default now). */
  start(candidates: readonly RemoteCandidate[], now: number, at = now): void {
    this.candidates = dedupe(candidates);
    this.state = 'punching';
    this.round = 0;
    this.nextRoundAt = Math.max(now, at);
    this.deadline = this.nextRoundAt + this.timing.windowMs;
    this.firstAnswerAt = undefined;
    this.retryAt = undefined;
  }

  /** A peer-reflexive candidate: an authenticated ping arrived from an address not announced. */
  learn(c: RemoteCandidate): boolean {
    if ([...this.candidates, ...this.learned].some((x) => sameEndpoint(x.endpoint, c.endpoint))) return false;
    this.learned.push(c);
    if (this.learned.length > MAX_LEARNED) this.learned.shift();
    return true;
  }

  /**
   * An authenticated ping from `from`. If that is not our active path, it may be the peer's new
   * NAT mapping (rebinding): learn it and return a probe to send back at once (at most one per
   * address per second), so a working path is found without waiting for the next round.
   */
  pingedFrom(from: Endpoint, announced: boolean, now: number): Probe | undefined {
    if (this.active && sameEndpoint(this.active.endpoint, from)) return undefined;
    if (!announced) this.learn({ endpoint: from, kind: 'public' });
    const key = formatEndpoint(from);
    const last = this.reverseProbes.get(key);
    if (last !== undefined && now - last < REVERSE_PROBE_GAP_MS) return undefined;
    this.reverseProbes.set(key, now);
    if (this.reverseProbes.size > 16) this.reverseProbes.delete(this.reverseProbes.keys().next().value!);
    const known = [...this.candidates, ...this.learned].find((c) => sameEndpoint(c.endpoint, from));
    return this.probe(from, known?.kind ?? 'public', now);
  }

  /** WireGuard roamed to `endpoint` (authenticated packets come from there now): follow it. */
  follow(endpoint: Endpoint, now: number): void {
    if (!this.active || sameEndpoint(this.active.endpoint, endpoint)) return;
    const known = [...this.candidates, ...this.learned].find((c) => sameEndpoint(c.endpoint, endpoint));
    this.active = { endpoint, kind: known?.kind ?? 'public', rttMs: this.active.rttMs, lastAnswerAt: now };
    this.unansweredSince = undefined;
  }

  /** Heartbeats at heartbeatMs until `until` even without data (e.g. the server says the peer left: is its path alive?). */
  keepBusy(until: number): void {
    this.busyUntil = Math.max(this.busyUntil, until);
  }

  /** A probe outside the schedule (e.g. `wgp2p ping`); its pong is matched like any other. */
  probe(to: Endpoint, kind: PathKind, now: number): Probe {
    const txid = this.makeTxid();
    this.outstanding.set(txid.toString('hex'), { to, kind, sentAt: now });
    return { txid, to };
  }

  /** Since when the active path is silent (once a heartbeat is unanswered it is lost pathTimeoutMs after this). */
  private silentSince(active: Path): number {
    return Math.max(active.lastAnswerAt, (this.unansweredSince ?? -Infinity) - this.timing.heartbeatMs);
  }

  /** The heartbeat period now: short while data moves (lastDataAt), punching, or a heartbeat is unanswered. */
  private heartbeatGap(now: number, lastDataAt: number): number {
    const t = this.timing;
    const busy = this.state === 'punching' || this.unansweredSince !== undefined || now < this.busyUntil || now - lastDataAt < (t.idleAfterMs ?? Infinity);
    return busy ? t.heartbeatMs : Math.max(t.heartbeatMs, t.idleHeartbeatMs ?? t.heartbeatMs);
  }

  /**
   * When tick() next has something to do, given when data last moved on the path: a driver may
   * sleep until then (input such as a pong or new data can only bring it closer, see the agent's
   * ticker). Infinity when nothing is scheduled.
   */
  nextDeadline(now: number, lastDataAt = now): number {
    let at = Infinity;
    const active = this.active;
    if (active) {
      at = Math.min(at, this.lastHeartbeatAt + this.heartbeatGap(now, lastDataAt));
      if (this.unansweredSince !== undefined) at = Math.min(at, this.silentSince(active) + this.timing.pathTimeoutMs);
    }
    if (this.state === 'punching') {
      at = Math.min(at, this.nextRoundAt, this.deadline);
      if (this.firstAnswerAt !== undefined) at = Math.min(at, this.firstAnswerAt + this.timing.settleMs);
    }
    if (this.state === 'idle' && this.retryAt !== undefined) at = Math.min(at, this.retryAt);
    return at;
  }

  /** Advances time: returns the probes to send now and what happened. `lastDataAt`: when data last moved to or from the peer. */
  tick(now: number, lastDataAt = now): { probes: Probe[]; events: PathEvent[] } {
    const probes: Probe[] = [];
    const events: PathEvent[] = [];
    for (const [k, o] of this.outstanding) if (now - o.sentAt > this.timing.probeTimeoutMs) this.outstanding.delete(k);

    // Silence counts only once asked: an idle path is not heard from between its heartbeats.
    if (this.active && this.unansweredSince !== undefined && now - this.silentSince(this.active) > this.timing.pathTimeoutMs) {
      events.push({ type: 'lost', path: this.active });
      this.active = undefined;
      this.unansweredSince = undefined;
      if (this.state === 'settled') this.state = 'idle';
    }
    if (this.state === 'punching') {
      if (now >= this.deadline || (this.firstAnswerAt !== undefined && now >= this.firstAnswerAt + this.timing.settleMs)) {
        this.finishSession(now, events);
      } else if (now >= this.nextRoundAt) {
        for (const c of this.roundCandidates()) probes.push(this.probe(c.endpoint, c.kind, now));
        const gaps = this.timing.roundGapsMs;
        this.nextRoundAt += gaps[Math.min(this.round, gaps.length - 1)]!;
        if (this.nextRoundAt <= now) this.nextRoundAt = now + gaps[gaps.length - 1]!; // we slept: do not burst
        this.round++;
      }
    }
    if (this.active && now - this.lastHeartbeatAt >= this.heartbeatGap(now, lastDataAt)) {
      this.lastHeartbeatAt = now;
      this.unansweredSince ??= now;
      probes.push(this.probe(this.active.endpoint, this.active.kind, now));
    }
    if (this.state === 'idle' && this.retryAt !== undefined && now >= this.retryAt) {
      this.retryAt = undefined;
      events.push({ type: 'retry' });
    }
    return { probes, events };
  }

  /**
   * The candidates this round probes: the first few announced ones and the learned ones (those
   * came from authenticated pings), the dead ones only early in a session.
   */
  private roundCandidates(): RemoteCandidate[] {
    const out: RemoteCandidate[] = [];
    for (const c of [...this.candidates.slice(0, MAX_PROBED_CANDIDATES), ...this.learned]) {
      const key = formatEndpoint(c.endpoint);
      const misses = this.unanswered.get(key) ?? 0;
      if (misses >= MAX_UNANSWERED_PROBES && this.round >= DEAD_ROUNDS) continue;
      this.unanswered.delete(key); // re-inserted last: the oldest entries go first
      this.unanswered.set(key, misses + 1);
      if (this.unanswered.size > MAX_TRACKED) this.unanswered.delete(this.unanswered.keys().next().value!);
      out.push(c);
    }
    return out;
  }

  private finishSession(now: number, events: PathEvent[]): void {
    if (this.active) {
      this.state = 'settled';
      this.failures = 0;
      this.lastHeartbeatAt = now;
      return;
    }
    this.state = 'idle';
    events.push({ type: 'failed' });
    const wait = Math.min(this.timing.retryMaxMs, this.timing.retryFirstMs * 2 ** this.failures);
    this.failures++;
    this.retryAt = now + wait;
  }

  /** An authenticated pong with `txid` from `from`; returns the event it causes, if any. */
  onPong(txid: Buffer, from: Endpoint, now: number): PathEvent | undefined {
    const key = txid.toString('hex');
    const o = this.outstanding.get(key);
    if (!o || !sameEndpoint(o.to, from)) return undefined; // unsolicited, replayed, or from elsewhere
    this.outstanding.delete(key);
    // Forgotten probes are swept on ticks, which may be far apart: the age is checked here too.
    if (now - o.sentAt > this.timing.probeTimeoutMs) return undefined;
    this.unanswered.delete(formatEndpoint(o.to));
    const path: Path = { endpoint: o.to, kind: o.kind, rttMs: now - o.sentAt, lastAnswerAt: now };
    const active = this.active;
    if (!active) {
      this.active = path;
      this.unansweredSince = undefined;
      this.firstAnswerAt ??= now;
      this.lastHeartbeatAt = now;
      this.failures = 0;
      this.retryAt = undefined;
      if (this.state === 'idle') this.state = 'settled';
      return { type: 'adopted', path };
    }
    if (sameEndpoint(active.endpoint, path.endpoint)) {
      active.rttMs = path.rttMs;
      active.lastAnswerAt = now;
      this.unansweredSince = undefined;
      return undefined;
    }
    // A path that answers beats one that stopped answering (the peer's NAT may have rebound),
    // long before the silent one would be declared lost.
    // (An idle path answers seldom because it is asked seldom: silent means a heartbeat is unanswered.)
    const silent = this.unansweredSince !== undefined && now - this.silentSince(active) > this.timing.heartbeatMs * 1.5;
    if (silent || betterPath(path, active, this.timing)) {
      this.active = path;
      this.unansweredSince = undefined;
      return { type: 'switched', path, previous: active };
    }
    return undefined;
  }

  /** Sessions in a row that found nothing (0 once a path answers), for "why relayed". */
  get failedSessions(): number {
    return this.failures;
  }

  /** The endpoints a session probes, for diagnostics. */
  describeCandidates(): string[] {
    return [...this.candidates, ...this.learned].map((c) => `${c.kind} ${formatEndpoint(c.endpoint)}`);
  }
}

function dedupe(list: readonly RemoteCandidate[]): RemoteCandidate[] {
  const out: RemoteCandidate[] = [];
  for (const c of list) if (!out.some((x) => sameEndpoint(x.endpoint, c.endpoint))) out.push(c);
  return out;
}
