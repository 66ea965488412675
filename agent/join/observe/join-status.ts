// The join agent's answer to `wgp2p status`: the tunnel's own status (keys, endpoints, handshakes,
// bytes, counters) completed with what only the agent knows: names, room addresses, whether the
// path is direct or relayed (and through which relay), its RTT, and the agent's own counters (rejected announcements, ...).
import type { DeviceStatus } from '../../daemon/status.js';
import { isRelayEndpointText } from '../paths/relay/relay-endpoint.js';
import type { RelayedPathInfo } from '../paths/relay/relay-paths.js';
import type { Member, RoomMembers } from '../room/room-members.js';
import type { NameTable } from '../names/name-table.js';
import type { RoutesStatus } from '../routes/room-routes.js';
import type { WhyRelayed } from './why-relayed.js';
import type { Endpoint } from '../../../shared/net/address.js';

/** A WireGuard handshake this recent still counts as a working direct path. */
const HANDSHAKE_FRESH_MS = 180_000;

export interface SelfInfo extends RoutesStatus {
  name: string;
  address: string;
  dnsName?: string;
  /** Our portmap candidate, ip:port. */
  portmap?: string;
}

export function joinStatus(
  base: DeviceStatus,
  self: SelfInfo,
  members: RoomMembers,
  relayed: (m: Member) => RelayedPathInfo | undefined,
  counters: Record<string, number>,
  wallNow = Date.now(),
  names?: NameTable,
  why?: (m: Member) => WhyRelayed | undefined,
  describe?: (e: Endpoint) => string | undefined,
): DeviceStatus {
  return {
    self: { ...base.self, name: self.name, address: self.address, ...(self.dnsName && { dnsName: self.dnsName }), ...(self.portmap && { portmap: self.portmap }), ...routesOf(self) },
    peers: base.peers.map((p) => {
      const m = members.find(p.publicKey);
      if (!m) return p;
      const dnsName = names?.fqdn(m.key);
      if (dnsName) p = { ...p, dnsName };
      if (m.exitNode) p = { ...p, offersExitNode: true, offersExitNodeIpv6: m.exitNode6 };
      const active = m.finder.active;
      const relay = active ? undefined : relayed(m);
      // Only for members without a direct path: the relayed ones, and those with no path at all.
      const whyRelayed = active ? undefined : why?.(m);
      if (whyRelayed && !(p.lastHandshake && p.endpoint && !isRelayEndpointText(p.endpoint) && wallNow - Date.parse(p.lastHandshake) < HANDSHAKE_FRESH_MS)) p = { ...p, whyRelayed };
      if (relay) return { ...p, name: m.name, address: m.address, path: 'relay', relay: relay.relay, endpoint: relay.endpoint, rttMs: relay.rttMs };
      const fresh = p.lastHandshake !== undefined && wallNow - Date.parse(p.lastHandshake) < HANDSHAKE_FRESH_MS;
      const viaRelay = p.endpoint !== undefined && isRelayEndpointText(p.endpoint);
      const shown = active && describe?.(active.endpoint);
      return {
        ...p,
        ...(shown && { endpoint: shown }),
        name: m.name,
        address: m.address,
        path: active || (fresh && p.endpoint && !viaRelay) ? 'direct' : viaRelay ? 'relay' : undefined,
        rttMs: active && Math.round(active.rttMs * 100) / 100,
      };
    }),
    counters: { ...base.counters, ...counters },
  };
}

function routesOf(s: RoutesStatus): RoutesStatus {
  return {
    ...(s.advertisedRoutes && { advertisedRoutes: s.advertisedRoutes }),
    ...(s.advertisesExitNode && { advertisesExitNode: true, advertisesExitNodeIpv6: !!s.advertisesExitNodeIpv6 }),
    ...(s.acceptedRoutes && { acceptedRoutes: s.acceptedRoutes }),
    ...(s.exitNode && { exitNode: s.exitNode, exitNodeIpv6: !!s.exitNodeIpv6 }),
  };
}
