// Grouping of client addresses for limits. One IPv6 subscriber usually gets a /64, so an IPv6
// "address" is its /64: rotating addresses inside it must not multiply a budget. A wider group
// (IPv4 /24, IPv6 /56: one site or provider block) caps what many neighbours together may hold.
// Every per-address limit (WebSocket gate, frame budget, STUN, relay) keys by these.
import { formatIp, parseIp, unmapIpv4 } from './ip-bytes.js';
import { maskBytes } from './address.js';

export const HOST_PREFIX_V4 = 32;
export const HOST_PREFIX_V6 = 64;
export const SUBNET_PREFIX_V4 = 24;
export const SUBNET_PREFIX_V6 = 56;

function group(address: string, v4Bits: number, v6Bits: number): string {
  const plain = unmapIpv4(address);
  const ip = parseIp(plain);
  // Unparseable text (a zone, or nothing) groups by itself; callers only pass socket addresses.
  if (!ip) return plain;
  const bits = ip.family === 'IPv4' ? v4Bits : v6Bits;
  return `${formatIp(maskBytes(ip.bytes, bits))}/${bits}`;
}

/** One client: an IPv4 address, or an IPv6 /64. */
export function hostGroup(address: string): string {
  return group(address, HOST_PREFIX_V4, HOST_PREFIX_V6);
}

/** One client's neighbourhood: an IPv4 /24, or an IPv6 /56. */
export function subnetGroup(address: string): string {
  return group(address, SUBNET_PREFIX_V4, SUBNET_PREFIX_V6);
}
