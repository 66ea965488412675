// Encoding and decoding of the four WireGuard messages; their layout (types, sizes, offsets) is in
// shared/wire/wireguard.ts. Decoders are total: every input here comes from the network, so
// anything of the wrong type or size gives undefined, never a throw.
import {
  COOKIE_REPLY_COOKIE,
  COOKIE_REPLY_NONCE,
  COOKIE_REPLY_RECEIVER,
  COOKIE_REPLY_SIZE,
  INITIATION_EPHEMERAL,
  INITIATION_MAC1,
  INITIATION_MAC2,
  INITIATION_SENDER,
  INITIATION_SIZE,
  INITIATION_STATIC,
  INITIATION_TIMESTAMP,
  messageType,
  MSG_COOKIE_REPLY,
  MSG_INITIATION,
  MSG_RESPONSE,
  MSG_TRANSPORT,
  RESPONSE_EMPTY,
  RESPONSE_EPHEMERAL,
  RESPONSE_MAC1,
  RESPONSE_MAC2,
  RESPONSE_RECEIVER,
  RESPONSE_SENDER,
  RESPONSE_SIZE,
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

function header(type: number, size: number): Buffer {
  const b = Buffer.alloc(size); // zeroed: reserved bytes and an absent mac2 must be zero
  b[0] = type;
  return b;
}

/** Builds an initiation without its macs (left zero for the cookie module). */
export function encodeInitiation(m: Initiation): Buffer {
  const b = header(MSG_INITIATION, INITIATION_SIZE);
  b.writeUInt32LE(m.sender, INITIATION_SENDER);
  m.ephemeral.copy(b, INITIATION_EPHEMERAL);
  m.encryptedStatic.copy(b, INITIATION_STATIC);
  m.encryptedTimestamp.copy(b, INITIATION_TIMESTAMP);
  return b;
}

export function decodeInitiation(b: Buffer): Initiation | undefined {
  if (messageType(b) !== MSG_INITIATION) return undefined;
  return {
    sender: b.readUInt32LE(INITIATION_SENDER),
    ephemeral: b.subarray(INITIATION_EPHEMERAL, INITIATION_STATIC),
    encryptedStatic: b.subarray(INITIATION_STATIC, INITIATION_TIMESTAMP),
    encryptedTimestamp: b.subarray(INITIATION_TIMESTAMP, INITIATION_MAC1),
  };
}

export function encodeResponse(m: Response): Buffer {
  const b = header(MSG_RESPONSE, RESPONSE_SIZE);
  b.writeUInt32LE(m.sender, RESPONSE_SENDER);
  b.writeUInt32LE(m.receiver, RESPONSE_RECEIVER);
  m.ephemeral.copy(b, RESPONSE_EPHEMERAL);
  m.encryptedNothing.copy(b, RESPONSE_EMPTY);
  return b;
}

export function decodeResponse(b: Buffer): Response | undefined {
  if (messageType(b) !== MSG_RESPONSE) return undefined;
  return {
    sender: b.readUInt32LE(RESPONSE_SENDER),
    receiver: b.readUInt32LE(RESPONSE_RECEIVER),
    ephemeral: b.subarray(RESPONSE_EPHEMERAL, RESPONSE_EMPTY),
    encryptedNothing: b.subarray(RESPONSE_EMPTY, RESPONSE_MAC1),
  };
}

export function encodeCookieReply(m: CookieReply): Buffer {
  const b = header(MSG_COOKIE_REPLY, COOKIE_REPLY_SIZE);
  b.writeUInt32LE(m.receiver, COOKIE_REPLY_RECEIVER);
  m.nonce.copy(b, COOKIE_REPLY_NONCE);
  m.encryptedCookie.copy(b, COOKIE_REPLY_COOKIE);
  return b;
}

export function decodeCookieReply(b: Buffer): CookieReply | undefined {
  if (messageType(b) !== MSG_COOKIE_REPLY) return undefined;
  return {
    receiver: b.readUInt32LE(COOKIE_REPLY_RECEIVER),
    nonce: b.subarray(COOKIE_REPLY_NONCE, COOKIE_REPLY_COOKIE),
    encryptedCookie: b.subarray(COOKIE_REPLY_COOKIE, COOKIE_REPLY_SIZE),
  };
}

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
  if (type === MSG_INITIATION) return b.readUInt32LE(INITIATION_SENDER);
  if (type === MSG_RESPONSE) return b.readUInt32LE(RESPONSE_SENDER);
  return undefined;
}

/** Where mac1 and mac2 sit for a handshake message type. */
export function macOffsets(type: number): { mac1: number; mac2: number } | undefined {
  if (type === MSG_INITIATION) return { mac1: INITIATION_MAC1, mac2: INITIATION_MAC2 };
  if (type === MSG_RESPONSE) return { mac1: RESPONSE_MAC1, mac2: RESPONSE_MAC2 };
  return undefined;
}
