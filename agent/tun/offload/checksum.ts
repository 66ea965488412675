// The Internet checksum (RFC 1071) over byte ranges and the TCP/UDP pseudo-headers, as unfolded
// sums: callers add pieces and fold once. A JS number holds any sum of a 64 KiB packet exactly.

/** Unfolded one's-complement sum of p[start, end) as big-endian 16-bit words (odd tail padded). */
export function sumBytes(p: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  // Four bytes a step: half the loop overhead of the plain two-byte loop.
  for (; i + 3 < end; i += 4) sum += ((p[i]! << 8) | p[i + 1]!) + ((p[i + 2]! << 8) | p[i + 3]!);
  for (; i + 1 < end; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
  if (i < end) sum += p[i]! << 8;
  return sum;
}

/** Folds an unfolded sum to 16 bits (not complemented). */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field's value for an unfolded sum: folded and complemented. */
export function finish(sum: number): number {
  return ~fold(sum) & 0xffff;
}

/**
 * Unfolded sum of the TCP/UDP pseudo-header: source and destination addresses (4 or 16 bytes
 * each, back to back at `addrOffset`), protocol and the layer-4 length.
 */
export function pseudoHeaderSum(p: Uint8Array, addrOffset: number, addrLen: number, protocol: number, l4Length: number): number {
  return sumBytes(p, addrOffset, addrOffset + 2 * addrLen) + protocol + l4Length;
}

/** Recomputes an IPv4 header's checksum in place (header at `off`, `ihl` bytes). */
export function setIpv4HeaderChecksum(p: Uint8Array, off: number, ihl: number): void {
  p[off + 10] = 0;
  p[off + 11] = 0;
  const c = finish(sumBytes(p, off, off + ihl));
  p[off + 10] = c >> 8;
  p[off + 11] = c & 0xff;
}

export function readU16(p: Uint8Array, at: number): number {
  return (p[at]! << 8) | p[at + 1]!;
}

export function writeU16(p: Uint8Array, at: number, v: number): void {
  p[at] = (v >> 8) & 0xff;
  p[at + 1] = v & 0xff;
}

export function readU32(p: Uint8Array, at: number): number {
  return ((p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!) >>> 0;
}

export function writeU32(p: Uint8Array, at: number, v: number): void {
  p[at] = (v >>> 24) & 0xff;
  p[at + 1] = (v >>> 16) & 0xff;
  p[at + 2] = (v >>> 8) & 0xff;
  p[at + 3] = v & 0xff;
}
