// Wire formats of the four WireGuard messages. Little-endian; the first byte is the type and the
// next three must be zero. Sizes are exact for handshake messages; parsers return undefined
// rather than throwing, because every input here comes from the network.

export const MSG_INITIATION = 1;
export const MSG_RESPONSE = 2;
export const MSG_COOKIE_REPLY = 3;
export const MSG_TRANSPORT = 4;

export const INITIATION_SIZE = 148;
export const RESPONSE_SIZE = 92;
export const COOKIE_REPLY_SIZE = 64;
export const TRANSPORT_HEADER_SIZE = 16;
export const TRANSPORT_MIN_SIZE = 32; // header + empty payload's tag (a keepalive)

/** Offsets of mac1/mac2 inside the two handshake messages. */
export const INITIATION_MAC1 = 116;
export const INITIATION_MAC2 = 132;
export const RESPONSE_MAC1 = 60;
export const RESPONSE_MAC2 = 76;

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

/** The message type, or 0 when the datagram cannot be a WireGuard message at all. */
export function messageType(d: Uint8Array): number {
  if (d.length < 4 || d[1] !== 0 || d[2] !== 0 || d[3] !== 0) return 0;
  const t = d[0]!;
  switch (t) {
    case MSG_INITIATION:
      return d.length === INITIATION_SIZE ? t : 0;
    case MSG_RESPONSE:
      return d.length === RESPONSE_SIZE ? t : 0;
    case MSG_COOKIE_REPLY:
      return d.length === COOKIE_REPLY_SIZE ? t : 0;
    case MSG_TRANSPORT:
      return d.length >= TRANSPORT_MIN_SIZE ? t : 0;
    default:
      return 0;
  }
}

function header(type: number, size: number): Buffer {
  const b = Buffer.alloc(size); // zeroed: reserved bytes and an absent mac2 must be zero
  b[0] = type;
  return b;
}

/** Builds an initiation without its macs (bytes 116..147 left zero for the cookie module). */
export function encodeInitiation(m: Initiation): Buffer {
  const b = header(MSG_INITIATION, INITIATION_SIZE);
  b.writeUInt32LE(m.sender, 4);
  m.ephemeral.copy(b, 8);
  m.encryptedStatic.copy(b, 40);
  m.encryptedTimestamp.copy(b, 88);
  return b;
}

export function decodeInitiation(b: Buffer): Initiation {
  return {
    sender: b.readUInt32LE(4),
    ephemeral: b.subarray(8, 40),
    encryptedStatic: b.subarray(40, 88),
    encryptedTimestamp: b.subarray(88, 116),
  };
}

export function encodeResponse(m: Response): Buffer {
  const b = header(MSG_RESPONSE, RESPONSE_SIZE);
  b.writeUInt32LE(m.sender, 4);
  b.writeUInt32LE(m.receiver, 8);
  m.ephemeral.copy(b, 12);
  m.encryptedNothing.copy(b, 44);
  return b;
}

export function decodeResponse(b: Buffer): Response {
  return {
    sender: b.readUInt32LE(4),
    receiver: b.readUInt32LE(8),
    ephemeral: b.subarray(12, 44),
    encryptedNothing: b.subarray(44, 60),
  };
}

export function encodeCookieReply(m: CookieReply): Buffer {
  const b = header(MSG_COOKIE_REPLY, COOKIE_REPLY_SIZE);
  b.writeUInt32LE(m.receiver, 4);
  m.nonce.copy(b, 8);
  m.encryptedCookie.copy(b, 32);
  return b;
}

export function decodeCookieReply(b: Buffer): CookieReply {
  return { receiver: b.readUInt32LE(4), nonce: b.subarray(8, 32), encryptedCookie: b.subarray(32, 64) };
}

/** Receiver index of a transport message (also of a response or cookie reply, at the same place for transport only). */
export function transportReceiver(b: Buffer): number {
  return b.readUInt32LE(4);
}

/** The 64-bit counter as a Number; exact below 2^53 (see constants.ts). */
export function transportCounter(b: Buffer): number {
  return b.readUInt32LE(8) + b.readUInt32LE(12) * 0x1_0000_0000;
}

/** Where mac1 and mac2 sit for a handshake message type. */
export function macOffsets(type: number): { mac1: number; mac2: number } | undefined {
  if (type === MSG_INITIATION) return { mac1: INITIATION_MAC1, mac2: INITIATION_MAC2 };
  if (type === MSG_RESPONSE) return { mac1: RESPONSE_MAC1, mac2: RESPONSE_MAC2 };
  return undefined;
}
