// The classic hub (`--hub`) as the other members see it. A hub sees the plaintext of what it
// forwards and could source packets with the addresses routed to it, so it is chosen by the member
// that routes through it (`--use-hub NAME`), never by its own announcement: the member named (or
// keyed) so that announces `hub`. Two such members (an insider may copy the name) mean no hub
// rather than a guess. A member with no path of our own reaches through it (the path arbiter decides).
import { formatEndpoint } from '../../../shared/net/address.js';
import type { RelayedPathInfo } from '../paths/relay/relay-paths.js';
import type { Member, RoomMembers } from '../room/room-members.js';

/** Our chosen hub among `members`: `choice` is its name or base64 public key; undefined without one. */
export function chosenHub(members: readonly Member[], choice: string | undefined): Member | undefined {
  if (choice === undefined) return undefined;
  const named = members.filter((m) => m.hub && (m.key === choice || m.name === choice));
  return named.length === 1 ? named[0] : undefined;
}

/** For status: the hub `m` goes through, if it does. */
export function hubPathInfo(members: RoomMembers, choice: string | undefined, m: Member): RelayedPathInfo | undefined {
  const hub = m.viaHub ? chosenHub(members.all(), choice) : undefined;
  const endpoint = hub?.finder.active?.endpoint;
  return hub && { relay: `hub ${hub.name}`, endpoint: endpoint ? formatEndpoint(endpoint) : 'hub', rttMs: hub.finder.active?.rttMs };
}
