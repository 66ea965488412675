// Encoding and decoding of the four WireGuard messages; their layout (types, sizes, offsets) is in
// shared/wire/wireguard.ts. Decoders are total: every input here comes from the network, so
// anything of the wrong type or size gives undefined, never a throw.
import {
  COOKIE_REPLY,
  INITIATION,
  messageType,
  MSG_COOKIE_REPLY,
  MSG_INITIATION,
  MSG_RESPONSE,
  MSG_TRANSPORT,
  RESPONSE,
  TRANSPORT_COUNTER,
  TRANSPORT_RECEIVER,
} from '../../shared/wire/wireguard.js';

export interface Initiation {
  sender: number;
  ephemeral: Buffer;
  encryptedStatic: Buffer;
  encryptedTimestamp: Buffer;
}

export interface Response {
  sender: number;
  receiver: number;
  ephemeral: Buffer;
  encryptedNothing: Buffer;
}

export interface CookieReply {
  receiver: number;
  nonce: Buffer;
  encryptedCookie: Buffer;
}

export interface TransportHeader {
  receiver: number;
  /** The 64-bit counter as a Number; exact below 2^53 (see constants.ts). */
  counter: number;
}

type KeysOf<M, T> = { [K in keyof M]: M[K] extends T ? K : never }[keyof M];

/** Where each field of handshake message `M` sits. */
interface Layout<M> {
  type: number;
  size: number;
  /** The sender and receiver indices: [name, offset] of a uint32. */
  u32: ReadonlyArray<readonly [KeysOf<M, number>, number]>;
  /** The byte fields: [name, start, end]. */
  bytes: ReadonlyArray<readonly [KeysOf<M, Buffer>, number, number]>;
}

const INITIATION_LAYOUT: Layout<Initiation> = {
  type: MSG_INITIATION,
  size: INITIATION.size,
  u32: [['sender', INITIATION.sender]],
  bytes: [['ephemeral', INITIATION.ephemeral, INITIATION.static], ['encryptedStatic', INITIATION.static, INITIATION.timestamp], ['encryptedTimestamp', INITIATION.timestamp, INITIATION.mac1]],
};

const RESPONSE_LAYOUT: Layout<Response> = {
  type: MSG_RESPONSE,
  size: RESPONSE.size,
  u32: [['sender', RESPONSE.sender], ['receiver', RESPONSE.receiver]],
  bytes: [['ephemeral', RESPONSE.ephemeral, RESPONSE.empty], ['encryptedNothing', RESPONSE.empty, RESPONSE.mac1]],
};

const COOKIE_REPLY_LAYOUT: Layout<CookieReply> = {
  type: MSG_COOKIE_REPLY,
  size: COOKIE_REPLY.size,
  u32: [['receiver', COOKIE_REPLY.receiver]],
  bytes: [['nonce', COOKIE_REPLY.nonce, COOKIE_REPLY.cookie], ['encryptedCookie', COOKIE_REPLY.cookie, COOKIE_REPLY.size]],
};

function encode<M>(layout: Layout<M>, m: M): Buffer {
  const b = Buffer.alloc(layout.size); // zeroed: reserved bytes and an absent mac2 must be zero
  b[0] = layout.type;
  for (const [name, at] of layout.u32) b.writeUInt32LE(m[name] as number, at);
  for (const [name, at] of layout.bytes) (m[name] as Buffer).copy(b, at);
  return b;
}

/** Total: the wrong type or size gives undefined; the byte fields are views into `b`. */
function decode<M>(layout: Layout<M>, b: Buffer): M | undefined {
  if (messageType(b) !== layout.type) return undefined;
  const m: Partial<Record<keyof M, number | Buffer>> = {};
  for (const [name, at] of layout.u32) m[name] = b.readUInt32LE(at);
  for (const [name, at, end] of layout.bytes) m[name] = b.subarray(at, end);
  return m as M;
}

/** Builds an initiation without its macs (left zero for the cookie module). */
export const encodeInitiation = (m: Initiation): Buffer => encode(INITIATION_LAYOUT, m);
export const decodeInitiation = (b: Buffer): Initiation | undefined => decode(INITIATION_LAYOUT, b);
export const encodeResponse = (m: Response): Buffer => encode(RESPONSE_LAYOUT, m);
export const decodeResponse = (b: Buffer): Response | undefined => decode(RESPONSE_LAYOUT, b);
export const encodeCookieReply = (m: CookieReply): Buffer => encode(COOKIE_REPLY_LAYOUT, m);
export const decodeCookieReply = (b: Buffer): CookieReply | undefined => decode(COOKIE_REPLY_LAYOUT, b);

/** Receiver index and counter of a transport message (its sealed payload is the keypair's). */
export function decodeTransportHeader(b: Buffer): TransportHeader | undefined {
  if (messageType(b) !== MSG_TRANSPORT) return undefined;
  return {
    receiver: b.readUInt32LE(TRANSPORT_RECEIVER),
    counter: b.readUInt32LE(TRANSPORT_COUNTER) + b.readUInt32LE(TRANSPORT_COUNTER + 4) * 0x1_0000_0000,
  };
}

/** The sender index of an initiation or response: whom a cookie reply to it is for. */
export function handshakeSender(b: Buffer): number | undefined {
  const type = messageType(b);
  if (type === MSG_INITIATION) return b.readUInt32LE(INITIATION.sender);
  if (type === MSG_RESPONSE) return b.readUInt32LE(RESPONSE.sender);
  return undefined;
}

/** Where mac1 and mac2 sit for a handshake message type. */
export function macOffsets(type: number): { mac1: number; mac2: number } | undefined {
  if (type === MSG_INITIATION) return { mac1: INITIATION.mac1, mac2: INITIATION.mac2 };
  if (type === MSG_RESPONSE) return { mac1: RESPONSE.mac1, mac2: RESPONSE.mac2 };
  return undefined;
}
