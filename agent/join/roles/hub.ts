// The classic hub (`--hub`) as the other members see it: the lowest-keyed member announcing it is
// the room's hub; a member with no path of our own reaches through it (the path arbiter decides).
import { formatEndpoint } from '../../../shared/net/address.js';
import type { RelayedPathInfo } from '../paths/relay/relay-paths.js';
import type { Member, RoomMembers } from '../room/room-members.js';

export function roomHub(members: RoomMembers): Member | undefined {
  let best: Member | undefined;
  for (const m of members.all()) if (m.hub && (!best || Buffer.compare(m.publicKey, best.publicKey) < 0)) best = m;
  return best;
}

/** For status: the hub `m` goes through, if it does. */
export function hubPathInfo(members: RoomMembers, m: Member): RelayedPathInfo | undefined {
  const hub = m.viaHub ? roomHub(members) : undefined;
  const endpoint = hub?.finder.active?.endpoint;
  return hub && { relay: `hub ${hub.name}`, endpoint: endpoint ? formatEndpoint(endpoint) : 'hub', rttMs: hub.finder.active?.rttMs };
}
