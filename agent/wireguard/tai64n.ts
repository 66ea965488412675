// TAI64N labels: the handshake initiation's timestamp, which makes replayed initiations useless.
// 12 bytes big-endian: TAI seconds (Unix seconds + 2^62 + 10), then nanoseconds.

const TAI64_BASE = 2n ** 62n + 10n;

/** The TAI64N label of a Unix time in milliseconds (millisecond precision is all our clock has). */
export function tai64n(unixMs: number): Buffer {
  const out = Buffer.alloc(12);
  const seconds = Math.floor(unixMs / 1000);
  out.writeBigUInt64BE(BigInt(seconds) + TAI64_BASE, 0);
  out.writeUInt32BE(Math.floor(unixMs - seconds * 1000) * 1_000_000, 8);
  return out;
}

/** <0, 0, >0 as `a` is earlier than, equal to, or later than `b` (big-endian, so bytewise). */
export function compareTai64n(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
