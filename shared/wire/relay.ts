// The packet relay's wire format, shared by agents, bounce peers and the server.
//
// A relay forwards members' WireGuard messages between them without being able to read them: the
// payload of a relay packet is the member's own end-to-end encrypted WireGuard message, and the
// relay only looks at the small header in front of it. Members are named by their signalling
// member id (the relay's "mailing address"), never by public key.
//
// UDP relay datagrams share a socket with WireGuard, STUN and disco, so they start with a magic
// that is none of those: 0xD2 0x5E 0x1A then version 1 (WireGuard starts with 1..4 and three zero
// bytes, STUN with two zero bits, disco with 0xD1). Then a type byte, then:
//   BIND        member → relay: txid(12) idLen(1) id authLen(1) auth [cookie(16)]
//                                                       "forward to me here"
//   BOUND       relay → member: txid(12)                                the bind was accepted
//   CHALLENGE   relay → member: txid(12) cookie(16)     prove you receive at this address: bind
//                                                       again with this cookie (a BIND's source
//                                                       address can be forged; the cookie cannot
//                                                       be had without receiving there)
//   DATA        member → relay: idLen(1) destination id, payload
//               relay → member: idLen(1) source id, payload
//   UNREACHABLE relay → member: idLen(1) id                             nobody by that id is bound
// Over WebSocket (binary frames) there is no magic and no type: idLen(1) id payload, the id being
// the destination from a member and the source to a member.
import { isMemberId } from '../signal/fields.js';
import { looksLikeDisco } from './disco.js';
import { looksLikeWireGuard } from './wireguard.js';

export const RELAY_MAGIC = Buffer.from([0xd2, 0x5e, 0x1a, 0x01]);
export const RELAY_BIND = 1;
export const RELAY_BOUND = 2;
export const RELAY_DATA = 3;
export const RELAY_UNREACHABLE = 4;
export const RELAY_CHALLENGE = 5;
export const RELAY_TXID_BYTES = 12;
export const RELAY_COOKIE_BYTES = 16;
/** Member ids are at most 64 characters of [A-Za-z0-9_-] (see shared/signal/fields.ts). */
export const MAX_RELAY_ID_BYTES = 64;
export const MAX_RELAY_AUTH_BYTES = 96;
/** The type byte follows the magic; the body follows the type. */
const TYPE_OFFSET = RELAY_MAGIC.length;
const HEADER_BYTES = TYPE_OFFSET + 1;
/** DATA: header, idLen, then the id at this offset. */
export const DATA_ID_OFFSET = HEADER_BYTES + 1;

export type RelayPacket =
  | { type: typeof RELAY_BIND; txid: Buffer; id: string; auth: Buffer; cookie?: Buffer }
  | { type: typeof RELAY_BOUND; txid: Buffer }
  | { type: typeof RELAY_CHALLENGE; txid: Buffer; cookie: Buffer }
  | { type: typeof RELAY_DATA; id: string; payload: Buffer }
  | { type: typeof RELAY_UNREACHABLE; id: string };

export function isRelayPacket(d: Uint8Array): boolean {
  return d.length > HEADER_BYTES && RELAY_MAGIC.every((b, i) => d[i] === b);
}

/** The type byte of a relay datagram, or undefined when `d` is not one. */
export function relayPacketType(d: Uint8Array): number | undefined {
  return isRelayPacket(d) ? d[TYPE_OFFSET] : undefined;
}

function header(type: number, rest: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES + rest);
  RELAY_MAGIC.copy(b, 0);
  b[TYPE_OFFSET] = type;
  return b;
}

function idBytes(id: string): Buffer {
  if (!isMemberId(id)) throw new Error(`"${id}" is not a member id`);
  return Buffer.from(id, 'latin1');
}

export function encodeBind(txid: Uint8Array, id: string, auth: Uint8Array, cookie?: Uint8Array): Buffer {
  if (txid.length !== RELAY_TXID_BYTES) throw new Error('relay txid must be 12 bytes');
  if (auth.length > MAX_RELAY_AUTH_BYTES) throw new Error('relay auth too long');
  if (cookie && cookie.length !== RELAY_COOKIE_BYTES) throw new Error('relay cookie must be 16 bytes');
  const ib = idBytes(id);
  const b = header(RELAY_BIND, RELAY_TXID_BYTES + 1 + ib.length + 1 + auth.length + (cookie?.length ?? 0));
  let o = HEADER_BYTES;
  b.set(txid, o);
  o += RELAY_TXID_BYTES;
  b[o++] = ib.length;
  ib.copy(b, o);
  o += ib.length;
  b[o++] = auth.length;
  b.set(auth, o);
  if (cookie) b.set(cookie, o + auth.length);
  return b;
}

export function encodeChallenge(txid: Uint8Array, cookie: Uint8Array): Buffer {
  if (txid.length !== RELAY_TXID_BYTES) throw new Error('relay txid must be 12 bytes');
  if (cookie.length !== RELAY_COOKIE_BYTES) throw new Error('relay cookie must be 16 bytes');
  const b = header(RELAY_CHALLENGE, RELAY_TXID_BYTES + RELAY_COOKIE_BYTES);
  b.set(txid, HEADER_BYTES);
  b.set(cookie, HEADER_BYTES + RELAY_TXID_BYTES);
  return b;
}

export function encodeBound(txid: Uint8Array): Buffer {
  if (txid.length !== RELAY_TXID_BYTES) throw new Error('relay txid must be 12 bytes');
  const b = header(RELAY_BOUND, RELAY_TXID_BYTES);
  b.set(txid, HEADER_BYTES);
  return b;
}

/** DATA with `id` (destination from a member, source to a member) in front of `payload`. */
export function encodeData(id: string, payload: Uint8Array): Buffer {
  const ib = idBytes(id);
  const b = header(RELAY_DATA, 1 + ib.length + payload.length);
  b[HEADER_BYTES] = ib.length;
  ib.copy(b, HEADER_BYTES + 1);
  b.set(payload, HEADER_BYTES + 1 + ib.length);
  return b;
}

export function encodeUnreachable(id: string): Buffer {
  const ib = idBytes(id);
  const b = header(RELAY_UNREACHABLE, 1 + ib.length);
  b[HEADER_BYTES] = ib.length;
  ib.copy(b, HEADER_BYTES + 1);
  return b;
}

/** Reads a length-prefixed member id at `o`; undefined when it does not fit or is malformed. */
function readId(d: Buffer, o: number): { id: string; end: number } | undefined {
  const n = d[o];
  if (n === undefined || n === 0 || n > MAX_RELAY_ID_BYTES || o + 1 + n > d.length) return undefined;
  const id = d.toString('latin1', o + 1, o + 1 + n);
  return isMemberId(id) ? { id, end: o + 1 + n } : undefined;
}

/** Decodes a relay datagram; undefined for anything malformed (never throws on network input). */
export function decodeRelayPacket(d: Buffer): RelayPacket | undefined {
  const type = relayPacketType(d);
  const o = HEADER_BYTES;
  switch (type) {
    case RELAY_BIND: {
      if (d.length < o + RELAY_TXID_BYTES + 2) return undefined;
      const txid = Buffer.from(d.subarray(o, o + RELAY_TXID_BYTES));
      const r = readId(d, o + RELAY_TXID_BYTES);
      if (!r) return undefined;
      const n = d[r.end];
      const authEnd = r.end + 1 + (n ?? 0);
      if (n === undefined || n > MAX_RELAY_AUTH_BYTES || (d.length !== authEnd && d.length !== authEnd + RELAY_COOKIE_BYTES)) return undefined;
      const auth = Buffer.from(d.subarray(r.end + 1, authEnd));
      return d.length === authEnd ? { type, txid, id: r.id, auth } : { type, txid, id: r.id, auth, cookie: Buffer.from(d.subarray(authEnd)) };
    }
    case RELAY_BOUND:
      if (d.length !== o + RELAY_TXID_BYTES) return undefined;
      return { type, txid: Buffer.from(d.subarray(o)) };
    case RELAY_CHALLENGE:
      if (d.length !== o + RELAY_TXID_BYTES + RELAY_COOKIE_BYTES) return undefined;
      return { type, txid: Buffer.from(d.subarray(o, o + RELAY_TXID_BYTES)), cookie: Buffer.from(d.subarray(o + RELAY_TXID_BYTES)) };
    case RELAY_DATA: {
      const at = dataPayloadOffset(d);
      if (at < 0) return undefined;
      const id = d.toString('latin1', DATA_ID_OFFSET, at);
      return isMemberId(id) ? { type, id, payload: d.subarray(at) } : undefined;
    }
    case RELAY_UNREACHABLE: {
      const r = readId(d, o);
      return r && r.end === d.length ? { type, id: r.id } : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Where the payload of a well-formed DATA datagram starts (after its id), or -1 for anything
 * else, including a DATA with an empty payload or an id length out of range. Never throws.
 */
export function dataPayloadOffset(d: Uint8Array): number {
  if (relayPacketType(d) !== RELAY_DATA) return -1;
  const n = d[DATA_ID_OFFSET - 1]!;
  const end = DATA_ID_OFFSET + n;
  return n === 0 || n > MAX_RELAY_ID_BYTES || end >= d.length ? -1 : end;
}

/** The payload length of a DATA datagram (header, idLen, id, payload); undefined for anything else. */
export function dataPayloadLength(d: Uint8Array): number | undefined {
  const idLen = d[HEADER_BYTES];
  if (relayPacketType(d) !== RELAY_DATA || idLen === undefined) return undefined;
  const n = d.length - HEADER_BYTES - 1 - idLen;
  return n >= 0 ? n : undefined;
}

/** A WebSocket relay frame: `id` then `payload`. */
export function encodeWsFrame(id: string, payload: Uint8Array): Buffer {
  const ib = idBytes(id);
  const b = Buffer.allocUnsafe(1 + ib.length + payload.length);
  b[0] = ib.length;
  ib.copy(b, 1);
  b.set(payload, 1 + ib.length);
  return b;
}

export function decodeWsFrame(d: Buffer): { id: string; payload: Buffer } | undefined {
  const r = readId(d, 0);
  if (!r || r.end >= d.length) return undefined;
  return { id: r.id, payload: d.subarray(r.end) };
}

/**
 * What a relay forwards: WireGuard messages and disco probes (members measure and watch relayed
 * paths end to end with them), nothing else.
 */
export function isRelayablePayload(p: Uint8Array): boolean {
  return looksLikeWireGuard(p) || looksLikeDisco(p);
}
