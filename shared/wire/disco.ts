// The disco framing: small ping/pong probes between two members (agent/join/disco.ts seals and
// opens them). Relays recognise them too, since probes also travel relayed paths. Layout:
//   magic+version(4) type(1) side(1) pairId(8) txid(12)      the header
//   [ping only: sentAt(8, big-endian wall ms)]                bounds replays to a time window
//   [pong only: family(1) port(2, big-endian) address(16)]   where the pinger's ping came from
//   tag(16)                                                   HMAC-SHA256 under the pair's disco key
// 0xD1 is neither a WireGuard type (1..4) nor a STUN first byte (top two bits zero).
import { makeEndpoint, type Endpoint } from '../net/address.js';
import { formatIp, parseIp } from '../net/ip-bytes.js';

export const DISCO_MAGIC = Buffer.from([0xd1, 0x5c, 0x0d, 0x02]);
export const DISCO_PING = 1;
export const DISCO_PONG = 2;

// The header's fields, each right after the one before.
export const DISCO_TYPE_OFFSET = DISCO_MAGIC.length;
export const DISCO_SIDE_OFFSET = DISCO_TYPE_OFFSET + 1;
export const DISCO_PAIR_ID_OFFSET = DISCO_SIDE_OFFSET + 1;
export const DISCO_PAIR_ID_BYTES = 8;
export const DISCO_TXID_OFFSET = DISCO_PAIR_ID_OFFSET + DISCO_PAIR_ID_BYTES;
export const DISCO_TXID_BYTES = 12;
export const DISCO_HEADER_BYTES = DISCO_TXID_OFFSET + DISCO_TXID_BYTES;

/** A pong's observed address block, right after the header: family, port, address. */
export const DISCO_ADDRESS_BYTES = 1 + 2 + 16;
const ADDRESS_PORT_OFFSET = 1;
const ADDRESS_IP_OFFSET = 3;
const IPV4_BYTES = 4;
export const DISCO_TAG_BYTES = 16;
/** A ping's send time, right after the header. */
export const DISCO_TIME_BYTES = 8;

export const PING_BYTES = DISCO_HEADER_BYTES + DISCO_TIME_BYTES + DISCO_TAG_BYTES;
export const PONG_BYTES = DISCO_HEADER_BYTES + DISCO_ADDRESS_BYTES + DISCO_TAG_BYTES;

export interface DiscoHeader {
  type: typeof DISCO_PING | typeof DISCO_PONG;
  side: 0 | 1;
  pairId: Buffer;
  txid: Buffer;
}

/** The magic and one of the two sizes: a disco probe, not yet checked. */
export function looksLikeDisco(p: Uint8Array): boolean {
  return (p.length === PING_BYTES || p.length === PONG_BYTES) && DISCO_MAGIC.every((b, i) => p[i] === b);
}

/** The header without its tag, zero-filled after it (the sealer appends the rest). */
export function encodeDiscoHeader(type: DiscoHeader['type'], side: 0 | 1, pairId: Uint8Array, txid: Uint8Array): Buffer {
  if (pairId.length !== DISCO_PAIR_ID_BYTES || txid.length !== DISCO_TXID_BYTES) throw new RangeError('disco: bad pair id or txid length');
  const h = Buffer.alloc(DISCO_HEADER_BYTES);
  DISCO_MAGIC.copy(h, 0);
  h[DISCO_TYPE_OFFSET] = type;
  h[DISCO_SIDE_OFFSET] = side;
  h.set(pairId, DISCO_PAIR_ID_OFFSET);
  h.set(txid, DISCO_TXID_OFFSET);
  return h;
}

/** The unauthenticated header: enough to find the pair whose key checks the tag. */
export function peekDisco(d: Uint8Array): DiscoHeader | undefined {
  if (!looksLikeDisco(d)) return undefined;
  const type = d[DISCO_TYPE_OFFSET];
  const side = d[DISCO_SIDE_OFFSET];
  if ((type !== DISCO_PING || d.length !== PING_BYTES) && (type !== DISCO_PONG || d.length !== PONG_BYTES)) return undefined;
  if (side !== 0 && side !== 1) return undefined;
  const b = Buffer.from(d.buffer, d.byteOffset, d.length);
  return { type, side, pairId: Buffer.from(b.subarray(DISCO_PAIR_ID_OFFSET, DISCO_TXID_OFFSET)), txid: Buffer.from(b.subarray(DISCO_TXID_OFFSET, DISCO_HEADER_BYTES)) };
}

/** A ping's time block: when it was sent, wall-clock milliseconds. */
export function encodeDiscoTime(wallMs: number): Buffer {
  const b = Buffer.alloc(DISCO_TIME_BYTES);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(wallMs))));
  return b;
}

/** The send time of a ping `d` (checked by peekDisco). */
export function decodeDiscoTime(d: Uint8Array): number {
  return Number(Buffer.from(d.buffer, d.byteOffset, d.length).readBigUInt64BE(DISCO_HEADER_BYTES));
}

/** A pong's address block for `observed` (an IPv4 address is zero-padded to 16 bytes). */
export function encodeDiscoAddress(observed: Endpoint): Buffer {
  const ip = parseIp(observed.address.split('%')[0]!); // a link-local sender carries a zone
  if (!ip) throw new RangeError(`disco: bad observed address ${observed.address}`);
  const addr = Buffer.alloc(DISCO_ADDRESS_BYTES);
  addr[0] = ip.family === 'IPv4' ? 4 : 6;
  addr.writeUInt16BE(observed.port, ADDRESS_PORT_OFFSET);
  addr.set(ip.bytes, ADDRESS_IP_OFFSET);
  return addr;
}

/** The address block of a pong `d` (checked by peekDisco); undefined when malformed. */
export function decodeDiscoAddress(d: Uint8Array): Endpoint | undefined {
  const a = d.subarray(DISCO_HEADER_BYTES, DISCO_HEADER_BYTES + DISCO_ADDRESS_BYTES);
  if (a.length !== DISCO_ADDRESS_BYTES) return undefined;
  const family = a[0];
  const port = (a[ADDRESS_PORT_OFFSET]! << 8) | a[ADDRESS_PORT_OFFSET + 1]!;
  const raw = a.subarray(ADDRESS_IP_OFFSET);
  if ((family !== 4 && family !== 6) || port === 0) return undefined;
  if (family === 4 && raw.subarray(IPV4_BYTES).some((x) => x !== 0)) return undefined;
  return makeEndpoint(formatIp(family === 4 ? raw.subarray(0, IPV4_BYTES) : raw), port);
}
