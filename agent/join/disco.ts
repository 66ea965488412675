// Disco: small authenticated ping/pong datagrams that probe paths between two members on the
// WireGuard UDP socket itself, so a path that answers disco also carries WireGuard. One socket
// carries three protocols, told apart by their first bytes:
//   WireGuard: byte 0 is the type 1..4, bytes 1..3 are zero;
//   STUN:      top two bits zero and the magic cookie 0x2112A442 at bytes 4..8;
//   disco:     0xD1 0x5C 0x0D then version 1 (0xD1 is neither a WireGuard type nor STUN);
//   relay:     0xD2 0x5E 0x1A then version 1 (shared/relay/wire.ts).
// Packets name the pair by an 8-byte id derived from the pair key (no public key in clear), say
// which end sent them (so a reflected probe is refused), and end with a 16-byte HMAC-SHA256 tag
// keyed by the pair's disco key. A pong echoes the ping's transaction id and tells the pinger the
// address its ping came from.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isStunMessage } from '../../shared/stun/message.js';
import { isRelayPacket, looksLikeDisco } from '../../shared/relay/wire.js';
import { formatIp, parseIp } from '../../shared/net/ip-bytes.js';
import { makeEndpoint, type Endpoint } from '../../shared/net/address.js';

export const DISCO_MAGIC = Buffer.from([0xd1, 0x5c, 0x0d, 0x01]);
export const DISCO_PING = 1;
export const DISCO_PONG = 2;
export const TXID_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 4 + 1 + 1 + 8 + TXID_BYTES; // magic+version, type, side, pair id, txid
const ADDRESS_BYTES = 1 + 2 + 16; // family, port, address
export const PING_BYTES = HEADER_BYTES + TAG_BYTES;
export const PONG_BYTES = HEADER_BYTES + ADDRESS_BYTES + TAG_BYTES;

export type DatagramKind = 'wireguard' | 'stun' | 'disco' | 'relay' | 'junk';

/** Which protocol a datagram on the shared socket belongs to. Cheap: WireGuard is tested first. */
export function classifyDatagram(d: Uint8Array): DatagramKind {
  if (d.length >= 4 && d[0]! >= 1 && d[0]! <= 4 && d[1] === 0 && d[2] === 0 && d[3] === 0) return 'wireguard';
  if (isDiscoPacket(d)) return 'disco';
  if (isRelayPacket(d)) return 'relay';
  if (isStunMessage(d)) return 'stun';
  return 'junk';
}

/** Relays recognise disco by the same magic and sizes (shared/relay/wire.ts). */
export function isDiscoPacket(d: Uint8Array): boolean {
  return looksLikeDisco(d);
}

export interface DiscoHeader {
  type: typeof DISCO_PING | typeof DISCO_PONG;
  side: 0 | 1;
  pairId: Buffer;
  txid: Buffer;
}

export interface DiscoPong extends DiscoHeader {
  /** Where the pinged member saw the ping come from: our address on that path. */
  observed: Endpoint;
}

export function newTxid(): Buffer {
  return randomBytes(TXID_BYTES);
}

function tag(key: Uint8Array, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update(body).digest().subarray(0, TAG_BYTES);
}

function header(type: number, side: 0 | 1, pairId: Uint8Array, txid: Uint8Array): Buffer {
  if (pairId.length !== 8 || txid.length !== TXID_BYTES) throw new RangeError('disco: bad pair id or txid length');
  const h = Buffer.alloc(HEADER_BYTES);
  DISCO_MAGIC.copy(h, 0);
  h[4] = type;
  h[5] = side;
  h.set(pairId, 6);
  h.set(txid, 14);
  return h;
}

export function encodePing(key: Uint8Array, side: 0 | 1, pairId: Uint8Array, txid: Uint8Array): Buffer {
  const body = header(DISCO_PING, side, pairId, txid);
  return Buffer.concat([body, tag(key, body)]);
}

export function encodePong(key: Uint8Array, side: 0 | 1, pairId: Uint8Array, txid: Uint8Array, observed: Endpoint): Buffer {
  const ip = parseIp(observed.address.split('%')[0]!); // a link-local sender carries a zone
  if (!ip) throw new RangeError(`disco: bad observed address ${observed.address}`);
  const addr = Buffer.alloc(ADDRESS_BYTES);
  addr[0] = ip.family === 'IPv4' ? 4 : 6;
  addr.writeUInt16BE(observed.port, 1);
  addr.set(ip.bytes, 3);
  const body = Buffer.concat([header(DISCO_PONG, side, pairId, txid), addr]);
  return Buffer.concat([body, tag(key, body)]);
}

/** The unauthenticated header: enough to find the pair whose key checks the tag. */
export function peekDisco(d: Uint8Array): DiscoHeader | undefined {
  if (!isDiscoPacket(d)) return undefined;
  const type = d[4];
  const side = d[5];
  if ((type !== DISCO_PING || d.length !== PING_BYTES) && (type !== DISCO_PONG || d.length !== PONG_BYTES)) return undefined;
  if (side !== 0 && side !== 1) return undefined;
  const b = Buffer.from(d.buffer, d.byteOffset, d.length);
  return { type, side, pairId: Buffer.from(b.subarray(6, 14)), txid: Buffer.from(b.subarray(14, HEADER_BYTES)) };
}

/** Checks the tag with the pair's key; for a pong also decodes the observed address. */
export function openDisco(key: Uint8Array, d: Uint8Array): DiscoHeader | DiscoPong | undefined {
  const h = peekDisco(d);
  if (!h) return undefined;
  const body = d.subarray(0, d.length - TAG_BYTES);
  const got = d.subarray(d.length - TAG_BYTES);
  if (!timingSafeEqual(tag(key, body), got)) return undefined;
  if (h.type === DISCO_PING) return h;
  const family = d[HEADER_BYTES];
  const port = (d[HEADER_BYTES + 1]! << 8) | d[HEADER_BYTES + 2]!;
  const raw = d.subarray(HEADER_BYTES + 3, HEADER_BYTES + ADDRESS_BYTES);
  if ((family !== 4 && family !== 6) || port === 0) return undefined;
  if (family === 4 && raw.subarray(4).some((x) => x !== 0)) return undefined;
  const observed = makeEndpoint(formatIp(family === 4 ? raw.subarray(0, 4) : raw), port);
  return { ...h, observed };
}

/**
 * The transaction ids of the last `capacity` pings answered for one pair. A ping is answered once:
 * a replayed capture (perhaps with a forged source address) gets nothing, so an agent cannot be
 * used to reflect pongs at someone else.
 */
export class AnsweredPings {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 256) {}

  /** True the first time `txid` is seen (answer it), false after. */
  firstTime(txid: Buffer): boolean {
    const key = txid.toString('hex');
    if (this.ids.has(key)) return false;
    this.ids.add(key);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}
