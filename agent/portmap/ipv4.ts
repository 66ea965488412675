// IPv4 helpers for the port-mapping decoders: strict dotted-quad parsing and the test a
// gateway's claimed external address must pass before it becomes a candidate.

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The four bytes of a dotted quad, or undefined for anything else (no leading zeros, no spaces). */
export function parseIPv4(s: string): [number, number, number, number] | undefined {
  const m = DOTTED_QUAD.exec(s);
  if (!m) return undefined;
  const bytes = m.slice(1, 5).map((p) => (p.length > 1 && p.startsWith('0') ? NaN : Number(p)));
  if (bytes.some((b) => !(b >= 0 && b <= 255))) return undefined;
  return bytes as [number, number, number, number];
}

export function formatIPv4(bytes: ArrayLike<number>, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * Ranges a gateway may not offer as its public address: unspecified, private (RFC 1918),
 * shared CGNAT space (RFC 6598: such a mapping is reachable only inside the carrier),
 * loopback, link-local, multicast and reserved. Documentation ranges are allowed: the lab's
 * fake internet uses them.
 */
const NOT_PUBLIC: ReadonlyArray<readonly [number, number]> = [
  [0x00000000, 8], // 0.0.0.0/8
  [0x0a000000, 8], // 10.0.0.0/8
  [0x64400000, 10], // 100.64.0.0/10
  [0x7f000000, 8], // 127.0.0.0/8
  [0xa9fe0000, 16], // 169.254.0.0/16
  [0xac100000, 12], // 172.16.0.0/12
  [0xc0a80000, 16], // 192.168.0.0/16
  [0xe0000000, 4], // 224.0.0.0/4 multicast
  [0xf0000000, 4], // 240.0.0.0/4 reserved and broadcast
];

/** True for a well-formed IPv4 address outside NOT_PUBLIC. */
export function isPublicIPv4(s: string): boolean {
  const b = parseIPv4(s);
  if (!b) return false;
  const n = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  return !NOT_PUBLIC.some(([net, len]) => (n >>> (32 - len)) === (net >>> (32 - len)));
}

export function isValidPort(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= 0xffff;
}
