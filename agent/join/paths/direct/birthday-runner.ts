// Birthday punching, the doing: runs each eligible member's BirthdayPlan (birthday.ts) on the
// agent's tick. The hard side opens extra sockets (extra-sockets.ts) toward the easy side's public
// endpoint and sends a disco ping from each; the easy side sends disco pings to random ports of
// the hard side's public address. All of them are ordinary probes of the member's PathFinder, so
// the first authenticated pong adopts the path through the usual route (PathKeeper → arbiter, the
// only owner of the engine's endpoint): on the hard side that path is a socket's virtual endpoint,
// and the WireGuard session roams onto that socket. Then the other sockets close; keepalives and
// the path finder's heartbeats keep the winning mapping alive. The hard side's address is only its
// announcement's word, so the easy side's probes to one address share a budget across all pairs
// (BirthdayTiming.addressProbeBurst): members claiming a third party's address can't multiply them.
// And with a server that attests (birthday-attest.ts), neither side punches toward an address the
// server did not see the member at: refusals are counted as birthday_refused_unattested.
import { makeEndpoint, sameEndpoint, type Endpoint } from '../../../../shared/net/address.js';
import type { Logger } from '../../../../shared/log.js';
import { hostGroup } from '../../../../shared/net/address-group.js';
import { KeyedRateLimiter } from '../../../../shared/rate-limit.js';
import type { BirthdayReport } from '../../observe/why-relayed.js';
import type { NatInfo } from '../../room/announcement.js';
import { MAX_MEMBERS, type Member, type RoomMembers } from '../../room/room-members.js';
import type { PathArbiters } from '../arbiter.js';
import { BirthdayPlan, birthdayRole, DEFAULT_BIRTHDAY_TIMING, type BirthdayAction, type BirthdayTiming } from './birthday.js';
import type { ExtraSockets } from './extra-sockets.js';
import type { PathKeeper } from './path-keeper.js';
import { attestTarget, type Attestation, type ServerSeen } from './birthday-attest.js';

export interface BirthdayContext {
  members: RoomMembers;
  arbiters: Pick<PathArbiters, 'hasDirect'>;
  paths: Pick<PathKeeper, 'probeTo'>;
  /** Absent when the host cannot open sockets: we can then only be the easy side. */
  sockets: ExtraSockets | undefined;
  ourNat(): NatInfo;
  log: Logger;
  timing?: Partial<BirthdayTiming>;
  random?: () => number;
  /** False with `--no-birthday`: such pairs just stay relayed. */
  enabled?: boolean;
  /** The public IPs the server saw members at; absent, every target is unattested. */
  seen?: Pick<ServerSeen, 'get' | 'attests'>;
  /** Counts birthday_refused_unattested and birthday_unattested (the agent's counters). */
  count?(what: string): void;
}

interface PairState {
  plan: BirthdayPlan;
  /** The hard side's sockets of the current (or last won) attempt. */
  sockets: Endpoint[];
  /** Bumped when an attempt ends: sockets that finish opening after that close at once. */
  generation: number;
  /** This attempt hit its target's probe budget (logged once). */
  overBudget: boolean;
  /** The last attestation (verdict, announced address, seen address) counted and logged. */
  attestation: string;
  /** Set while the server sees the member elsewhere than it announces (for "why relayed"). */
  refused: BirthdayReport['refused'];
}

export class BirthdayPunch {
  private readonly pairs = new Map<Member, PairState>();
  private readonly timing: BirthdayTiming;
  /** Easy-side probes per target address (hostGroup), across all pairs. */
  private readonly budget: KeyedRateLimiter;

  constructor(private readonly c: BirthdayContext) {
    const t = (this.timing = { ...DEFAULT_BIRTHDAY_TIMING, ...c.timing });
    this.budget = new KeyedRateLimiter((t.maxProbes * 1000) / t.addressProbeRefillMs, t.addressProbeBurst, MAX_MEMBERS, 0);
  }

  tick(now: number): void {
    const present = new Set(this.c.members.all());
    for (const m of present) this.tickMember(m, now);
    for (const [m, st] of this.pairs) if (!present.has(m)) this.drop(m, st);
  }

  /** The earliest of the pairs' plans' deadlines. */
  nextDeadline(now: number): number {
    let at = Infinity;
    for (const st of this.pairs.values()) at = Math.min(at, st.plan.nextDeadline(now));
    return at;
  }

  private tickMember(m: Member, now: number): void {
    const role = this.c.enabled === false ? undefined : birthdayRole(this.c.ourNat(), m.nat);
    let st = this.pairs.get(m);
    if (!role || (role === 'hard' && !this.c.sockets)) {
      if (st) this.drop(m, st);
      return;
    }
    if (!st || st.plan.role !== role) {
      if (st) this.drop(m, st);
      st = { plan: new BirthdayPlan(role, this.timing, this.c.random), sockets: [], generation: 0, overBudget: false, attestation: '', refused: undefined };
      this.pairs.set(m, st);
    }
    const target = this.target(m, st);
    const direct = this.c.arbiters.hasDirect(m);
    for (const a of st.plan.tick(now, !!target, direct)) this.act(m, st, a, target!, now);
    // A won socket whose path was lost later (or replaced) is of no more use.
    if (st.sockets.length > 0 && !st.plan.running && !st.sockets.some((e) => this.inUse(m, e))) this.closeSockets(st, undefined);
  }

  /** Where to punch toward: an announced public address the server saw `m` at (birthday-attest.ts). */
  private target(m: Member, st: PairState): Endpoint | undefined {
    const a = attestTarget(m.candidates, this.c.seen?.get(m.memberId), this.c.seen?.attests() ?? false);
    const note = describe(a);
    if (note !== st.attestation) {
      st.attestation = note;
      st.refused = a.verdict === 'refused' ? { announced: a.announced.address, seen: a.seen ?? 'nowhere (it no longer lists it)' } : undefined;
      if (a.verdict === 'refused') {
        this.c.count?.('birthday_refused_unattested');
        this.c.log.warn('birthday punching refused: the member announces a public address the server did not see it at', { peer: m.name, announced: a.announced.address, seen: a.seen ?? 'none' });
      } else if (a.verdict === 'unattested') {
        this.c.count?.('birthday_unattested');
        this.c.log.info('birthday punching toward an address the server does not attest (it predates attestation)', { peer: m.name, to: a.target.address });
      }
    }
    return a.verdict === 'attested' || a.verdict === 'unattested' ? a.target : undefined;
  }

  private inUse(m: Member, e: Endpoint): boolean {
    const active = m.finder.active?.endpoint;
    return !!active && sameEndpoint(active, e);
  }

  private act(m: Member, st: PairState, a: BirthdayAction, target: Endpoint, now: number): void {
    switch (a.type) {
      case 'open': {
        const generation = st.generation;
        this.c.log.info('birthday punching: opening sockets', { peer: m.name, sockets: a.count, to: `${target.address}:${target.port}` });
        void this.c.sockets!.openMany(a.count, target).then((opened) => {
          if (st.generation !== generation || this.pairs.get(m) !== st) {
            for (const e of opened) this.c.sockets!.close(e);
            return;
          }
          st.sockets = opened;
          for (const e of opened) this.c.paths.probeTo(m, e);
        });
        return;
      }
      case 'resend':
        for (const e of st.sockets) this.c.paths.probeTo(m, e);
        return;
      case 'probe': {
        const group = hostGroup(target.address);
        for (const port of a.ports) {
          if (!this.budget.allow(group, now)) return this.overBudget(m, st, target);
          this.c.paths.probeTo(m, makeEndpoint(target.address, port));
        }
        return;
      }
      case 'end':
        st.generation++;
        st.overBudget = false;
        this.budget.sweep(now);
        this.c.log.info(a.won ? 'birthday punching found a direct path' : 'birthday punching found nothing; backing off', { peer: m.name, role: st.plan.role });
        this.closeSockets(st, a.won ? m.finder.active?.endpoint : undefined);
        return;
    }
  }

  private overBudget(m: Member, st: PairState, target: Endpoint): void {
    if (st.overBudget) return;
    st.overBudget = true;
    this.c.log.info('birthday punching: probes to this address are over its budget; the rest of the attempt is skipped', { peer: m.name, to: target.address });
  }

  /** Closes the pair's sockets but `keep` (the one the path uses). */
  private closeSockets(st: PairState, keep: Endpoint | undefined): void {
    const kept: Endpoint[] = [];
    for (const e of st.sockets) {
      if (keep && sameEndpoint(e, keep)) kept.push(e);
      else this.c.sockets?.close(e);
    }
    st.sockets = kept;
  }

  private drop(m: Member, st: PairState): void {
    st.generation++;
    this.closeSockets(st, undefined);
    this.pairs.delete(m);
  }

  /** How it went with `m`, for "why relayed"; undefined when the NATs do not call for it. */
  report(m: Member, now: number): BirthdayReport | undefined {
    const st = this.pairs.get(m);
    if (!st) return undefined;
    const r = st.plan.report(now, st.sockets.length);
    return st.refused ? { ...r, refused: st.refused } : r;
  }

  close(): void {
    for (const [m, st] of this.pairs) this.drop(m, st);
  }
}

function describe(a: Attestation): string {
  switch (a.verdict) {
    case 'attested':
    case 'unattested':
      return `${a.verdict} ${a.target.address}`;
    case 'refused':
      return `refused ${a.announced.address} ${a.seen}`;
    case 'none':
      return 'none';
  }
}
