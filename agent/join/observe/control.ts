// The control socket's join operations: `status` (the tunnel's, completed with names, paths and
// counters) and `ping PEER` (one disco probe on the member's current path), and the metrics'
// count of members by path.
import { formatEndpoint, type Endpoint } from '../../../shared/net/address.js';
import type { DeviceStatus } from '../../daemon/status.js';
import type { PathKeeper } from '../paths/direct/path-keeper.js';
import type { PathArbiters } from '../paths/arbiter.js';
import type { RelayPaths } from '../paths/relay/relay-paths.js';
import type { Bounce } from '../roles/bounce.js';
import { hubPathInfo } from '../roles/hub.js';
import type { RoomMembers } from '../room/room-members.js';
import type { SignallingPort } from '../ports.js';
import { joinStatus, type SelfInfo } from './join-status.js';
import type { NameTable } from '../names/name-table.js';
import type { LocalCandidates } from '../nat/local-candidates.js';
import type { Member } from '../room/room-members.js';
import { whyRelayed, type BirthdayReport, type WhyRelayed } from './why-relayed.js';

const NOT_APPLICABLE: BirthdayReport = { state: 'not-applicable', attempts: 0 };

export interface ControlContext {
  members: RoomMembers;
  arbiters: PathArbiters;
  paths: PathKeeper;
  relayed: RelayPaths;
  bounce: Bounce | undefined;
  signal: Pick<SignallingPort, 'stats'>;
  counters: Map<string, number>;
  self(): SelfInfo;
  /** The room's DNS names, when the agent answers DNS. */
  names?(): NameTable | undefined;
  /** `--use-hub`: the hub we chose, if any. */
  useHub?: string;
  /** Our side of "why relayed": NAT behaviour, candidates, port mapping. */
  local: Pick<LocalCandidates, 'nat' | 'list' | 'portmapEndpoint'>;
  listenPort(): number;
  portmapEnabled: boolean;
  /** How birthday punching went with a member (absent: never applicable). */
  birthday?(m: Member): BirthdayReport | undefined;
  /** What a virtual endpoint stands for (a birthday socket), for status. */
  describeEndpoint?(e: Endpoint): string | undefined;
}

export class JoinControl {
  constructor(private readonly c: ControlContext) {}

  status(base: DeviceStatus): DeviceStatus {
    const c = this.c;
    const s = c.signal.stats;
    const signal = { signal_connects: s.welcomes, signal_attempts: s.attempts, signal_invalid_frames: s.invalidFrames };
    const counters = { ...Object.fromEntries(c.counters), ...signal, ...c.bounce?.counters() };
    return joinStatus(base, c.self(), c.members, (m) => c.relayed.info(m) ?? hubPathInfo(c.members, c.useHub, m), counters, undefined, c.names?.(), (m) => (c.arbiters.hasDirect(m) ? undefined : this.whyRelayed(m)), (e) => c.describeEndpoint?.(e));
  }

  /** Why `m` has no direct path, from both sides' announcements and what we tried. */
  whyRelayed(m: Member): WhyRelayed {
    const c = this.c;
    return whyRelayed({
      ours: { nat: c.local.nat, candidates: c.local.list(), listenPort: c.listenPort() },
      theirs: { nat: m.nat, candidates: m.candidates },
      portmap: { enabled: c.portmapEnabled, ours: c.local.portmapEndpoint },
      tried: m.finder.describeCandidates(),
      failedSessions: m.finder.failedSessions,
      birthday: c.birthday?.(m) ?? NOT_APPLICABLE,
    });
  }

  /** `wgp2p ping PEER`: one disco probe on the peer's current path. */
  async ping(req: Record<string, unknown>): Promise<unknown> {
    const c = this.c;
    const ref = req.peer;
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > 128) throw new Error('ping needs {"peer": NAME|ADDRESS|PUBLIC-KEY}');
    const m = c.members.find(ref) ?? this.byDnsName(ref);
    if (!m) throw new Error(`no member "${ref}" in the room`);
    if (m.viaHub) throw new Error(`${m.name} is reached through the hub: no path of our own to probe`);
    if (!c.arbiters.hasDirect(m)) {
      const relayed = c.relayed.info(m);
      if (relayed) {
        const r = await c.relayed.pingOnce(m);
        return { name: m.name, address: m.address, publicKey: m.key, endpoint: relayed.endpoint, path: 'relay', relay: r.relay, rttMs: r.rttMs, whyRelayed: this.whyRelayed(m) };
      }
    }
    const r = await c.paths.ping(m);
    return { name: m.name, address: m.address, publicKey: m.key, endpoint: c.describeEndpoint?.(r.endpoint) ?? formatEndpoint(r.endpoint), path: 'direct', rttMs: r.rttMs };
  }

  /** A member by its DNS name, NAME.DOMAIN or the bare label. */
  private byDnsName(ref: string) {
    const e = this.c.names?.()?.lookup(ref, true);
    return e && this.c.members.find(e.key);
  }

  /** Members by the path we have to them, for metrics. */
  peers(): { direct: number; relayed: number; total: number } {
    const all = this.c.members.all();
    const direct = all.filter((m) => this.c.arbiters.hasDirect(m)).length;
    const relayed = all.filter((m) => !this.c.arbiters.hasDirect(m) && this.c.relayed.info(m)).length;
    return { direct, relayed, total: all.length };
  }
}
