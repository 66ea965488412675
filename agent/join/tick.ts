// The agent's clock: every TICK_MS each member's path finding, relayed path, hub choice and orphan
// grace advance; less often, host addresses are re-read, our STUN mapping refreshed and our
// announcement renewed. A gap between ticks on the monotonic OR the wall clock means the machine
// slept: every path is then suspect and re-discovered.
import type { Logger } from '../../shared/log.js';
import { ANNOUNCE_REFRESH_MS } from './room/announcement.js';
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
/** A tick gap this long means the machine slept: every path is suspect. */
export const SLEEP_GAP_MS = 10_000;
/** Expired bounce bindings are swept this often. */
const BOUNCE_SWEEP_MS = 10_000;

export class JoinTicker {
  private timer: TimerHandle | undefined;
  private stopped = false;
  private lastTickAt = 0;
  private lastTickWall = 0;
  private lastHostPollAt = 0;
  private lastSweepAt = 0;

  constructor(private readonly c: TickContext) {}

  start(): void {
    const now = this.c.clock.now();
    this.c.paths.lastRefreshAt = this.lastHostPollAt = this.lastTickAt = now;
    this.lastTickWall = this.c.clock.wallNow();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.c.clock.clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.c.clock.setTimeout(() => {
      this.c.guarded('tick', () => this.tick());
      this.schedule();
    }, TICK_MS);
  }

  tick(): void {
    const c = this.c;
    const now = c.clock.now();
    const wall = c.clock.wallNow();
    // Linux's monotonic clock stands still while the machine is suspended; the wall clock does
    // not (a clock step also looks like a pause: re-discovering then costs little).
    const pausedMs = Math.max(now - this.lastTickAt, wall - this.lastTickWall);
    if (pausedMs > SLEEP_GAP_MS) {
      c.log.warn('woke up after a pause; re-discovering every path', { pausedMs: Math.round(pausedMs) });
      c.paths.rediscover(c.members.all());
    }
    this.lastTickAt = now;
    this.lastTickWall = wall;
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
