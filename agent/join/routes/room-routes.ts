// Subnet routes and exit nodes for one agent: what we advertise (carried in our announcement),
// the prefixes we accept from others (subnet-routes.ts) and the exit node we use (exit-node.ts),
// all re-decided whenever the room's members change.
import type { NetworkInterfaceInfo } from 'node:os';
import { parsePrefix } from '../../../shared/net/address.js';
import type { Logger } from '../../../shared/log.js';
import type { JoinEngine, TunnelPort } from '../ports.js';
import { formatSubnet, type RoomSubnet } from '../room/room-address.js';
import { ROOM_IPV6_PREFIX } from '../room/room-ipv6.js';
import type { Member } from '../room/room-members.js';
import { ExitNodeRouting, type ExitRoutePort } from './exit-node.js';
import { lanConflicts } from './route-choice.js';
import { SubnetRoutes, type AcceptedRoute } from './subnet-routes.js';

export interface RouteOptions {
  /** `--advertise-routes`: canonical IPv4 and IPv6 prefixes (route-prefix.ts parseAdvertisedRoutes). */
  advertise?: string[];
  /** `--accept-routes`. */
  accept?: boolean;
  /** `--advertise-exit-node`. */
  advertiseExitNode?: boolean;
  /** With advertiseExitNode: we carry IPv6 too (host.ts: an IPv6 room address and an IPv6 default route). */
  exitNodeIpv6?: boolean;
  /** `--exit-node NAME|KEY`. */
  exitNode?: string;
}

export interface RoomRoutesContext {
  engine: Pick<JoinEngine, 'allow' | 'disallow'>;
  tunnel: Pick<TunnelPort, 'addRoute' | 'removeRoute' | 'ifname'>;
  subnet: RoomSubnet;
  exitRoute?: ExitRoutePort;
  /** For in-memory networks; the host's interfaces otherwise. */
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
  log: Logger;
  count(what: string): void;
}

export interface RoutesStatus {
  advertisedRoutes?: string[];
  advertisesExitNode?: boolean;
  /** With advertisesExitNode: whether our offer carries IPv6 (announced as x6). */
  advertisesExitNodeIpv6?: boolean;
  acceptedRoutes?: AcceptedRoute[];
  exitNode?: string;
  /** With exitNode: whether our IPv6 goes through it (it offers IPv6) or is dropped. */
  exitNodeIpv6?: boolean;
}

export class RoomRoutes {
  readonly subnetRoutes: SubnetRoutes;
  readonly exit: ExitNodeRouting | undefined;

  constructor(
    readonly o: RouteOptions,
    c: RoomRoutesContext,
  ) {
    const room = formatSubnet(c.subnet);
    const ours = [{ prefix: parsePrefix(room), what: `the room subnet ${room}` }, { prefix: parsePrefix(ROOM_IPV6_PREFIX), what: `the room's IPv6 space ${ROOM_IPV6_PREFIX}` }, ...(o.advertise ?? []).map((r) => ({ prefix: parsePrefix(r), what: `our advertised route ${r}` }))];
    this.subnetRoutes = new SubnetRoutes({ engine: c.engine, tunnel: c.tunnel, accept: !!o.accept, ours, lans: () => lanConflicts(c.tunnel.ifname, c.interfaces), log: c.log, count: c.count });
    if (o.exitNode !== undefined) this.exit = new ExitNodeRouting({ engine: c.engine, choice: o.exitNode, route: c.exitRoute, log: c.log, count: c.count });
  }

  apply(members: readonly Member[]): void {
    this.subnetRoutes.apply(members);
    this.exit?.apply(members);
  }

  status(): RoutesStatus {
    const accepted = this.subnetRoutes.accepted();
    return {
      ...(this.o.advertise?.length && { advertisedRoutes: this.o.advertise }),
      ...(this.o.advertiseExitNode && { advertisesExitNode: true, advertisesExitNodeIpv6: !!this.o.exitNodeIpv6 }),
      ...(accepted.length > 0 && { acceptedRoutes: accepted }),
      ...(this.exit?.inUse && { exitNode: this.exit.inUse, exitNodeIpv6: !!this.exit.inUse6 }),
    };
  }

  close(): void {
    this.exit?.close();
  }
}
