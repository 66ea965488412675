// Birthday punching, the plan (pure: time and randomness come in, actions go out). For a pair
// where one NAT maps per destination ("hard": symmetric, or a carrier-grade NAT that does) and the
// other maps endpoint-independently but filters by port ("easy": port-restricted), ordinary
// punching cannot work: the easy side cannot guess which port the hard NAT will pick for it. So
// the hard side opens many sockets, each sending to the easy side's public endpoint (each gets a
// mapping, open to that endpoint only), while the easy side probes random ports of the hard
// side's public address. With 256 mappings among ~64,000 ports, 2,000 random probes hit one
// ~99.96 % of the time (1 − (1 − 256/64512)^2000). The first authenticated pong picks the path;
// the runner (birthday-runner.ts) does the I/O. Probes are paced, one attempt per pair at a time,
// and a failed attempt backs off (firewalls must not be flooded).
import type { NatInfo } from '../../room/announcement.js';
import type { BirthdayReport } from '../../observe/why-relayed.js';

export type BirthdayRole = 'hard' | 'easy';

export interface BirthdayTiming {
  /** Extra sockets the hard side opens. */
  sockets: number;
  /** Random probes the easy side sends in one attempt... */
  maxProbes: number;
  /** ... spread evenly over this window (the attempt's whole length). */
  windowMs: number;
  /** The easy side starts probing this long after the attempt starts: the hard side's mappings exist by then. */
  easyDelayMs: number;
  /** The hard side sends from every socket again this often (keeps its mappings, meets a late easy side). */
  hardResendMs: number;
  /** Conditions must hold this long before an attempt starts (both sides see each other's announcement). */
  startDelayMs: number;
  /** After a failed attempt, wait this long, doubling up to max. */
  backoffFirstMs: number;
  backoffMaxMs: number;
  /**
   * Easy-side probes to one address (IPv6: one /64), by all pairs together: at most this many at
   * once... The address is only the member's word, so members announcing a third party's address
   * (an insider can have many) must not multiply what is sent there.
   */
  addressProbeBurst: number;
  /** ... refilled at `maxProbes` per this (one attempt per longest backoff: a lone member's own pace). */
  addressProbeRefillMs: number;
}

export const DEFAULT_BIRTHDAY_TIMING: BirthdayTiming = {
  sockets: 256,
  maxProbes: 2_000,
  windowMs: 20_000,
  easyDelayMs: 300,
  hardResendMs: 2_000,
  startDelayMs: 1_000,
  backoffFirstMs: 30_000,
  backoffMaxMs: 300_000,
  addressProbeBurst: 4_000,
  addressProbeRefillMs: 300_000,
};

/** Ports a NAT may pick (Linux's fully-random masquerade uses 1024–65535). */
export const BIRTHDAY_MIN_PORT = 1024;
export const BIRTHDAY_MAX_PORT = 65535;
/** The last probe leaves this long before the window closes, so its pong can still come back. */
const EASY_TAIL_MS = 1_000;

const mapsPerDestination = (n: NatInfo) => n.mapping === 'endpoint-dependent';
const portRestricted = (n: NatInfo) => n.mapping === 'endpoint-independent' && n.filtering === 'port-dependent';

/** Our part in birthday punching with a member, or undefined when the NATs do not call for it. */
export function birthdayRole(ours: NatInfo, theirs: NatInfo): BirthdayRole | undefined {
  if (mapsPerDestination(ours) && portRestricted(theirs)) return 'hard';
  if (portRestricted(ours) && mapsPerDestination(theirs)) return 'easy';
  return undefined;
}

export type BirthdayAction =
  /** Hard side: open this many sockets, each sending to the easy side. */
  | { type: 'open'; count: number }
  /** Hard side: send from every open socket again. */
  | { type: 'resend' }
  /** Easy side: probe these ports of the hard side's public address. */
  | { type: 'probe'; ports: number[] }
  /** The attempt is over (won or lost): close the sockets the path does not use. */
  | { type: 'end'; won: boolean };

type State = 'idle' | 'waiting' | 'running' | 'succeeded' | 'failed';

/** One pair's attempts over time. `tick` says what to do now. */
export class BirthdayPlan {
  private state: State = 'idle';
  private attempts = 0;
  private failures = 0;
  private probesSent = 0;
  private readonly tried = new Set<number>();
  private startAt = 0;
  private startedAt = 0;
  private lastResendAt = 0;

  constructor(
    readonly role: BirthdayRole,
    private readonly timing: BirthdayTiming = DEFAULT_BIRTHDAY_TIMING,
    private readonly random: () => number = Math.random,
  ) {}

  get running(): boolean {
    return this.state === 'running';
  }

  /**
   * Advances the plan. `wanted`: the pair still has no direct path and we know where to send;
   * `direct`: a direct path is up (ours or found otherwise).
   */
  tick(now: number, wanted: boolean, direct: boolean): BirthdayAction[] {
    const t = this.timing;
    if (this.state === 'running') {
      if (direct) return this.finish('succeeded', now);
      if (!wanted || now - this.startedAt >= t.windowMs) return this.finish('failed', now);
      return this.role === 'hard' ? this.hardStep(now) : this.easyStep(now);
    }
    if (!wanted || direct) {
      if (this.state === 'waiting') this.state = 'idle';
      return [];
    }
    if (this.state === 'idle' || this.state === 'succeeded') {
      this.state = 'waiting';
      this.startAt = Math.max(now + t.startDelayMs, this.notBefore);
    }
    if (now < this.startAt) return [];
    this.state = 'running';
    this.attempts++;
    this.startedAt = now;
    this.probesSent = 0;
    this.lastResendAt = now;
    this.tried.clear();
    return this.role === 'hard' ? [{ type: 'open', count: t.sockets }] : [];
  }

  /** When `tick` next has something to do (the agent's clock sleeps until then; inputs wake it sooner). */
  nextDeadline(now: number): number {
    const t = this.timing;
    if (this.state === 'waiting') return this.startAt;
    if (this.state !== 'running') return Infinity;
    const end = this.startedAt + t.windowMs;
    if (this.role === 'hard') return Math.min(end, this.lastResendAt + t.hardResendMs);
    // The easy side paces its probes: the next one is due at once (the ticker's shortest sleep).
    return this.probesSent < t.maxProbes ? Math.max(now, this.startedAt + t.easyDelayMs) : end;
  }

  private hardStep(now: number): BirthdayAction[] {
    if (now - this.lastResendAt < this.timing.hardResendMs) return [];
    this.lastResendAt = now;
    return [{ type: 'resend' }];
  }

  /** Probes due by now, evenly paced over the window after the easy side's delay (and before its tail). */
  private easyStep(now: number): BirthdayAction[] {
    const t = this.timing;
    const elapsed = now - this.startedAt - t.easyDelayMs;
    if (elapsed < 0) return [];
    const span = Math.max(1, t.windowMs - t.easyDelayMs - EASY_TAIL_MS);
    const due = Math.min(t.maxProbes, Math.floor((elapsed / span) * t.maxProbes) + 1);
    const ports: number[] = [];
    while (this.probesSent < due) {
      ports.push(this.randomPort());
      this.probesSent++;
    }
    return ports.length ? [{ type: 'probe', ports }] : [];
  }

  /** A port not probed yet in this attempt. */
  private randomPort(): number {
    const range = BIRTHDAY_MAX_PORT - BIRTHDAY_MIN_PORT + 1;
    for (;;) {
      const p = BIRTHDAY_MIN_PORT + Math.min(range - 1, Math.floor(this.random() * range));
      if (!this.tried.has(p) || this.tried.size >= range) {
        this.tried.add(p);
        return p;
      }
    }
  }

  private finish(state: 'succeeded' | 'failed', now: number): BirthdayAction[] {
    this.state = state;
    if (state === 'failed') {
      const wait = Math.min(this.timing.backoffMaxMs, this.timing.backoffFirstMs * 2 ** this.failures);
      this.failures++;
      this.notBefore = this.startAt = now + wait;
      this.state = 'waiting';
      this.lastFailed = true;
    } else {
      this.failures = 0;
      this.notBefore = 0;
      this.lastFailed = false;
    }
    return [{ type: 'end', won: state === 'succeeded' }];
  }

  private lastFailed = false;
  /** Backoff: no attempt starts before this. */
  private notBefore = 0;

  /** For "why relayed". */
  report(now: number, sockets: number): BirthdayReport {
    const base = { role: this.role, attempts: this.attempts };
    switch (this.state) {
      case 'running':
        return { ...base, state: 'running', ...(this.role === 'hard' ? { sockets } : { probes: this.probesSent }) };
      case 'succeeded':
        return { ...base, state: 'succeeded' };
      case 'waiting':
        return this.lastFailed ? { ...base, state: 'pending', retryInMs: Math.max(0, this.startAt - now) } : { ...base, state: 'pending' };
      case 'idle':
      case 'failed':
        return this.lastFailed ? { ...base, state: 'failed' } : { ...base, state: 'pending' };
    }
  }
}
