// The join agent's answer to `wgp2p status`: the tunnel's own status (keys, endpoints, handshakes,
// bytes, counters) completed with what only the agent knows: names, room addresses, whether the
// path is direct, its RTT, and the agent's own counters (rejected announcements, ...).
import type { DeviceStatus } from '../daemon/status.js';
import type { RoomMembers } from './room-members.js';

/** A WireGuard handshake this recent still counts as a working direct path. */
const HANDSHAKE_FRESH_MS = 180_000;

export interface SelfInfo {
  name: string;
  address: string;
}

export function joinStatus(base: DeviceStatus, self: SelfInfo, members: RoomMembers, counters: Record<string, number>, wallNow = Date.now()): DeviceStatus {
  return {
    self: { ...base.self, name: self.name, address: self.address },
    peers: base.peers.map((p) => {
      const m = members.find(p.publicKey);
      if (!m) return p;
      const active = m.finder.active;
      const fresh = p.lastHandshake !== undefined && wallNow - Date.parse(p.lastHandshake) < HANDSHAKE_FRESH_MS;
      return {
        ...p,
        name: m.name,
        address: m.address,
        // No relay exists yet: a path is direct or there is none.
        path: active || (fresh && p.endpoint) ? 'direct' : undefined,
        rttMs: active && Math.round(active.rttMs * 100) / 100,
      };
    }),
    counters: { ...base.counters, ...counters },
  };
}
