// A member's IPv6 room address, for IPv6 subnet routes: its IPv4 room address embedded in the
// last 32 bits of one fixed unique-local /96 (RFC 4193 space). Derived, not claimed: the IPv4
// address is already exclusive to its owner (the claim rules of room-address.ts), so the IPv6
// one is too, and no announcement has to carry it. The room's IPv6 subnet is the IPv4 subnet
// under the same /96 (10.147.0.0/16 → ROOM_IPV6_PREFIX + 0a93:0000/112).
import { formatIp } from '../../../shared/net/ip-bytes.js';
import { parseAddress, parsePrefix } from '../../../shared/net/address.js';
import { intToIpv4, type RoomSubnet } from './room-address.js';

/** The /96 under which IPv4 room addresses become IPv6 ones. */
export const ROOM_IPV6_PREFIX = 'fd77:7770:2a00::/96';
const EMBED_BITS = 96;
const PREFIX_BYTES = parsePrefix(ROOM_IPV6_PREFIX).bytes;

/** The IPv6 room address of the member at IPv4 room address `address`. */
export function roomIpv6(address: string): string {
  const bytes = Uint8Array.from(PREFIX_BYTES);
  bytes.set(parseAddress(address).bytes, EMBED_BITS / 8);
  return formatIp(bytes);
}

/** Our IPv6 room address with the room's IPv6 prefix length, as an interface takes it. */
export function roomIpv6Cidr(address: string, subnet: RoomSubnet): string {
  return `${roomIpv6(address)}/${EMBED_BITS + subnet.bits}`;
}

/** The room's IPv6 subnet ("fd77:7770:2a00::a93:0/112" for 10.147.0.0/16). */
export function roomSubnet6(subnet: RoomSubnet): string {
  return `${roomIpv6(intToIpv4(subnet.network))}/${EMBED_BITS + subnet.bits}`;
}
