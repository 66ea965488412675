// Virtual endpoints for relayed paths. The engine knows peers only by UDP endpoint and follows
// authenticated packets to wherever they came from (roaming); giving each (relay, member) pair an
// endpoint of its own lets a relayed path be just another endpoint of the same WireGuard session,
// so moving between direct and relayed paths needs no new handshake. The addresses are in
// 100::/64, the IPv6 discard-only prefix (RFC 6666): never a real peer, and if one ever leaked to
// the socket, the network would drop it.
import { makeEndpoint, type Endpoint } from '../../../../shared/net/address.js';

const PREFIX = '100::';
const VIRTUAL = /^100::(?:([0-9a-f]{1,4}):)?([0-9a-f]{1,4})$/;
const VIRTUAL_PORT = 1;
/** How virtual endpoints start when formatted ("[100::1:2]:1"). */
export const RELAY_ENDPOINT_TEXT = `[${PREFIX}`;

/** The endpoint standing for `memberSlot`'s path through `linkSlot` (both 1..65535). */
export function relayEndpoint(linkSlot: number, memberSlot: number): Endpoint {
  return makeEndpoint(`${PREFIX}${linkSlot.toString(16)}:${memberSlot.toString(16)}`, VIRTUAL_PORT);
}

/** Cheap test for the send path: is `e` a relayed path? (Port 1: other virtual endpoints share the prefix.) */
export function isRelayEndpoint(e: Endpoint): boolean {
  return e.port === VIRTUAL_PORT && e.family === 6 && e.address.startsWith(PREFIX);
}

/** The same test on an endpoint's text (status). */
export function isRelayEndpointText(text: string): boolean {
  return text.startsWith(RELAY_ENDPOINT_TEXT) && text.endsWith(`]:${VIRTUAL_PORT}`);
}

export function parseRelayEndpoint(e: Endpoint): { linkSlot: number; memberSlot: number } | undefined {
  if (!isRelayEndpoint(e) || e.port !== VIRTUAL_PORT) return undefined;
  const m = VIRTUAL.exec(e.address);
  if (!m) return undefined;
  // "100::5" is link 0 (never allocated), member 5: canonical text drops the zero group.
  return { linkSlot: m[1] ? parseInt(m[1], 16) : 0, memberSlot: parseInt(m[2]!, 16) };
}
