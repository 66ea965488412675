// Just enough of IPv4/IPv6 headers for cryptokey routing: where the addresses sit and how long
// the packet says it is. Everything returns undefined for a packet too short or of another version.
import type { Family } from '../../shared/net/address.js';

export interface AddressAt {
  family: Family;
  /** Byte offset of the address inside the packet. */
  offset: number;
}

const V4_HEADER = 20;
const V6_HEADER = 40;

function version(p: Uint8Array): number {
  return p.length > 0 ? p[0]! >> 4 : 0;
}

export function destinationOf(p: Uint8Array): AddressAt | undefined {
  const v = version(p);
  if (v === 4 && p.length >= V4_HEADER) return { family: 4, offset: 16 };
  if (v === 6 && p.length >= V6_HEADER) return { family: 6, offset: 24 };
  return undefined;
}

export function sourceOf(p: Uint8Array): AddressAt | undefined {
  const v = version(p);
  if (v === 4 && p.length >= V4_HEADER) return { family: 4, offset: 12 };
  if (v === 6 && p.length >= V6_HEADER) return { family: 6, offset: 8 };
  return undefined;
}

/** The length the header claims (decrypted packets carry padding after it). */
export function declaredLength(p: Uint8Array): number | undefined {
  const v = version(p);
  if (v === 4 && p.length >= V4_HEADER) {
    const total = (p[2]! << 8) | p[3]!;
    return total >= V4_HEADER ? total : undefined;
  }
  if (v === 6 && p.length >= V6_HEADER) return ((p[4]! << 8) | p[5]!) + V6_HEADER;
  return undefined;
}
