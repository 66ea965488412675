// The agent's clock: a tick advances each member's path finding, relayed path, hub choice and
// orphan grace; less often, host addresses are re-read, our STUN mapping refreshed and our
// announcement renewed. Ticks come when something is due: after each tick the ticker sleeps until
// the earliest deadline its parts report (clamped to [TICK_MS, MAX_SLEEP_MS]), and any input
// (a datagram, a server message, data starting to move in the tunnel) calls poke(), which brings
// the next tick within TICK_MS, as the old fixed 20 ms tick did. A tick much later than planned,
// on the monotonic OR the wall clock, means the machine slept: every path is then suspect and
// re-discovered.
import type { Logger } from '../../shared/log.js';
import { ANNOUNCE_REFRESH_MS } from './room/announcement.js';
import { STUN_REFRESH_MS } from './nat/stun-service.js';
import type { LocalCandidates } from './nat/local-candidates.js';
import type { StunService } from './nat/stun-service.js';
import { describe, type PathKeeper } from './paths/direct/path-keeper.js';
import type { PathArbiters } from './paths/arbiter.js';
import type { RelayLinks } from './paths/relay/relay-links.js';
import type { RelayPaths } from './paths/relay/relay-paths.js';
import type { Bounce } from './roles/bounce.js';
import type { BirthdayPunch } from './paths/direct/birthday-runner.js';
import { chosenHub } from './roles/hub.js';
import type { MemberLifecycle } from './room/lifecycle.js';
import type { RoomMembers } from './room/room-members.js';
import type { RoomSignalling } from './signalling/dispatch.js';
import type { JoinClock, SignallingPort, TimerHandle } from './ports.js';

/** The parts a tick advances, and how it reaches them. */
export interface TickContext {
  clock: JoinClock;
  log: Logger;
  members: RoomMembers;
  /** `--use-hub`: the hub we chose, if any. */
  useHub?: string;
  local: LocalCandidates;
  paths: PathKeeper;
  relayed: RelayPaths;
  links: RelayLinks;
  arbiters: PathArbiters;
  lifecycle: MemberLifecycle;
  bounce: Bounce | undefined;
  signal: Pick<SignallingPort, 'reconnect'>;
  signalling: RoomSignalling;
  stun: StunService;
  birthday?: BirthdayPunch;
  membersChanged(): void;
  guarded(what: string, fn: () => void): void;
}

export const TICK_MS = 20;
const HOST_POLL_MS = 5_000;
/** The longest sleep, whatever the deadlines say (a missed poke costs at most this). */
const MAX_SLEEP_MS = HOST_POLL_MS;
/** A tick gap this long means the machine slept: every path is suspect. */
export const SLEEP_GAP_MS = 10_000;
/** Expired bounce bindings are swept this often. */
const BOUNCE_SWEEP_MS = 10_000;

export class JoinTicker {
  private timer: TimerHandle | undefined;
  /** When the armed timer fires (clock ms), and the clocks when it was armed: lateness means sleep. */
  private armedFor = Infinity;
  private armedMono = 0;
  private armedWall = 0;
  private stopped = false;
  /** Ticks run, for tests and diagnostics. */
  ticks = 0;
  private lastHostPollAt = 0;
  private lastSweepAt = 0;

  constructor(private readonly c: TickContext) {}

  start(): void {
    const now = this.c.clock.now();
    this.c.paths.lastRefreshAt = this.lastHostPollAt = now;
    this.arm(TICK_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.c.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Something happened (input, new data, a punch): whatever it made due gets its tick (within
   * TICK_MS at the soonest, as with the old fixed tick). Callers poke after the change.
   */
  poke(): void {
    if (this.stopped || this.timer === undefined) return;
    const now = this.c.clock.now();
    if (this.armedFor <= now + TICK_MS) return;
    const delay = Math.min(MAX_SLEEP_MS, Math.max(TICK_MS, this.nextDeadline(now) - now));
    if (now + delay < this.armedFor) this.arm(delay);
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.c.clock.clearTimeout(this.timer);
    const clock = this.c.clock;
    this.armedMono = clock.now();
    this.armedWall = clock.wallNow();
    this.armedFor = this.armedMono + delayMs;
    this.timer = clock.setTimeout(() => this.fire(), delayMs);
  }

  private fire(): void {
    this.timer = undefined;
    const planned = this.armedFor - this.armedMono;
    const late = Math.max(this.c.clock.now() - this.armedMono, this.c.clock.wallNow() - this.armedWall) - planned;
    this.c.guarded('tick', () => this.tick(late));
    if (this.stopped) return;
    const now = this.c.clock.now();
    const next = this.c.guarded('deadline', () => this.nextDeadline(now)) ?? now + TICK_MS;
    this.arm(Math.min(MAX_SLEEP_MS, Math.max(TICK_MS, next - now)));
  }

  /** When a tick next has something to do: the earliest deadline of every part it advances. */
  nextDeadline(now: number): number {
    const c = this.c;
    let at = Math.min(
      c.links.nextDeadline(),
      this.lastHostPollAt + HOST_POLL_MS + 1,
      c.paths.lastRefreshAt + STUN_REFRESH_MS + 1,
      c.signalling.lastAnnounceAt + ANNOUNCE_REFRESH_MS + 1,
    );
    if (c.bounce) at = Math.min(at, this.lastSweepAt + BOUNCE_SWEEP_MS + 1);
    if (c.birthday) at = Math.min(at, c.birthday.nextDeadline(now));
    for (const m of c.members.all()) {
      at = Math.min(at, c.paths.nextDeadline(m, now), c.relayed.nextDeadline(m, now), c.arbiters.nextDeadline(m, now), c.lifecycle.nextDeadline(m, now));
    }
    return at;
  }

  /** `lateMs`: how much later than planned this tick came (on either clock). */
  tick(lateMs = 0): void {
    const c = this.c;
    const now = c.clock.now();
    this.ticks++;
    // Linux's monotonic clock stands still while the machine is suspended; the wall clock does
    // not (a clock step also looks like a pause: re-discovering then costs little).
    if (lateMs > SLEEP_GAP_MS) {
      c.log.warn('woke up after a pause; re-discovering every path', { pausedMs: Math.round(lateMs) });
      c.paths.rediscover(c.members.all());
    }
    c.links.tick(now);
    if (c.bounce && now - this.lastSweepAt > BOUNCE_SWEEP_MS) {
      this.lastSweepAt = now;
      c.bounce.sweep(now);
    }
    const hub = chosenHub(c.members.all(), c.useHub);
    let hubChanged = false;
    for (const m of c.members.all()) {
      c.paths.tick(m, now);
      c.relayed.tick(m, now);
      if (c.arbiters.updateHub(m, hub, now)) hubChanged = true;
      c.lifecycle.tick(m, now);
    }
    if (hubChanged) c.membersChanged();
    c.birthday?.tick(now);
    if (now - this.lastHostPollAt > HOST_POLL_MS) {
      this.lastHostPollAt = now;
      if (c.local.refreshHost()) {
        c.log.info('host addresses changed', { candidates: describe(c.local.list()) });
        // The signalling connection may come from an address we no longer have: renew it (the
        // welcome re-announces us), and meanwhile try the announcement on the old one.
        c.signal.reconnect('host addresses changed');
        c.signalling.announceUpdate();
        c.paths.rediscover(c.members.all());
      }
    }
    c.stun.tick(now);
    if (now - c.signalling.lastAnnounceAt > ANNOUNCE_REFRESH_MS) c.signalling.announceUpdate();
  }
}
