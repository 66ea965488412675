// STUN message framing: the demultiplexing test, a decoder that never throws on network input,
// and an encoder that appends MESSAGE-INTEGRITY and FINGERPRINT when asked.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  ATTR_FINGERPRINT,
  ATTR_MESSAGE_INTEGRITY,
  FINGERPRINT_XOR,
  HEADER_LENGTH,
  MAGIC_COOKIE,
  MESSAGE_INTEGRITY_LENGTH,
  TRANSACTION_ID_LENGTH,
} from './constants.js';
import { crc32 } from './crc32.js';

export interface StunAttribute {
  type: number;
  value: Uint8Array;
}

export interface StunMessage {
  /** The 14-bit message type (method and class interleaved), e.g. 0x0001 for a Binding request. */
  type: number;
  transactionId: Uint8Array;
  attributes: StunAttribute[];
}

export interface DecodedStunMessage extends StunMessage {
  /** The exact bytes the message was decoded from (needed to check MESSAGE-INTEGRITY). */
  raw: Uint8Array;
  /** Offset in `raw` of the MESSAGE-INTEGRITY attribute header, when there is one. */
  integrityOffset?: number;
  fingerprint: 'absent' | 'valid' | 'invalid';
}

export interface EncodeOptions {
  /** Appends MESSAGE-INTEGRITY (HMAC-SHA1) keyed with this; see `shortTermKey`. */
  integrityKey?: Uint8Array;
  /** Appends FINGERPRINT. */
  fingerprint?: boolean;
  /** Value of padding bytes (RFC 8489 lets senders use any; RFC 5769's vectors use 0x20). */
  padByte?: number;
}

function readU16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/**
 * Cheap test for "this datagram is STUN" on a socket shared with WireGuard: top two bits zero,
 * the magic cookie, and a length field that is a multiple of 4 and matches the datagram.
 */
export function isStunMessage(buf: Uint8Array): boolean {
  if (buf.length < HEADER_LENGTH || (buf[0]! & 0xc0) !== 0) return false;
  if (readU32(buf, 4) !== MAGIC_COOKIE) return false;
  const length = readU16(buf, 2);
  return length % 4 === 0 && HEADER_LENGTH + length === buf.length;
}

export function messageMethod(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}

export function messageClass(type: number): number {
  return ((type & 0x0100) >> 7) | ((type & 0x0010) >> 4);
}

export function messageType(method: number, cls: number): number {
  return (
    (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((cls & 0b10) << 7) |
    ((cls & 0b01) << 4)
  );
}

/**
 * Decodes one STUN message; undefined when the bytes are not a well-formed message.
 * Attributes after MESSAGE-INTEGRITY other than FINGERPRINT are dropped (RFC 8489 section 14.5),
 * anything after FINGERPRINT makes the message malformed.
 */
export function decodeStunMessage(buf: Uint8Array): DecodedStunMessage | undefined {
  if (!isStunMessage(buf)) return undefined;
  const attributes: StunAttribute[] = [];
  let integrityOffset: number | undefined;
  let fingerprint: DecodedStunMessage['fingerprint'] = 'absent';
  let at = HEADER_LENGTH;
  while (at < buf.length) {
    if (fingerprint !== 'absent') return undefined;
    if (at + 4 > buf.length) return undefined;
    const type = readU16(buf, at);
    const length = readU16(buf, at + 2);
    const end = at + 4 + length;
    if (end > buf.length) return undefined;
    const value = buf.subarray(at + 4, end);
    if (type === ATTR_FINGERPRINT) {
      if (length !== 4) return undefined;
      const expected = (crc32(buf, 0, at) ^ FINGERPRINT_XOR) >>> 0;
      fingerprint = readU32(value, 0) === expected ? 'valid' : 'invalid';
      attributes.push({ type, value });
    } else if (integrityOffset === undefined) {
      if (type === ATTR_MESSAGE_INTEGRITY) {
        if (length !== MESSAGE_INTEGRITY_LENGTH) return undefined;
        integrityOffset = at;
      }
      attributes.push({ type, value });
    }
    at = end + ((4 - (length % 4)) % 4);
  }
  if (at !== buf.length) return undefined;
  return {
    type: readU16(buf, 0),
    transactionId: buf.subarray(8, HEADER_LENGTH),
    attributes,
    raw: buf,
    integrityOffset,
    fingerprint,
  };
}

/** The short-term credential key: the password's UTF-8 bytes (SASLprep is not applied). */
export function shortTermKey(password: string): Uint8Array {
  return new TextEncoder().encode(password);
}

/**
 * The long-term credential key, MD5(username ":" realm ":" password). The password must already
 * be prepared (SASLprep / OpaqueString); this project only needs it to check RFC 5769's vector.
 */
export function longTermKey(username: string, realm: string, password: string): Uint8Array {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
}

function integrityOver(head: Uint8Array, key: Uint8Array): Buffer {
  return createHmac('sha1', key).update(head).digest();
}

/** True when the message carries a MESSAGE-INTEGRITY that checks under `key`. */
export function verifyMessageIntegrity(msg: DecodedStunMessage, key: Uint8Array): boolean {
  if (msg.integrityOffset === undefined) return false;
  const at = msg.integrityOffset;
  const head = Buffer.from(msg.raw.subarray(0, at));
  // The length field covers the message up to and including MESSAGE-INTEGRITY.
  head.writeUInt16BE(at - HEADER_LENGTH + 4 + MESSAGE_INTEGRITY_LENGTH, 2);
  const given = msg.raw.subarray(at + 4, at + 4 + MESSAGE_INTEGRITY_LENGTH);
  return timingSafeEqual(integrityOver(head, key), given);
}

export function getAttribute(msg: StunMessage, type: number): Uint8Array | undefined {
  return msg.attributes.find((a) => a.type === type)?.value;
}

/** Encodes a message. Throws on programmer errors (bad transaction id, oversized attribute). */
export function encodeStunMessage(msg: StunMessage, options: EncodeOptions = {}): Buffer {
  if (msg.transactionId.length !== TRANSACTION_ID_LENGTH) {
    throw new RangeError('STUN transaction id must be 12 bytes');
  }
  const pad = options.padByte ?? 0;
  const parts: Buffer[] = [];
  let bodyLength = 0;
  for (const attr of msg.attributes) {
    if (attr.type === ATTR_MESSAGE_INTEGRITY || attr.type === ATTR_FINGERPRINT) {
      throw new RangeError('MESSAGE-INTEGRITY and FINGERPRINT are added through EncodeOptions');
    }
    if (attr.value.length > 0xffff) throw new RangeError('STUN attribute too long');
    const padded = attr.value.length + ((4 - (attr.value.length % 4)) % 4);
    const part = Buffer.alloc(4 + padded, pad);
    part.writeUInt16BE(attr.type, 0);
    part.writeUInt16BE(attr.value.length, 2);
    part.set(attr.value, 4);
    parts.push(part);
    bodyLength += part.length;
  }
  const extra =
    (options.integrityKey ? 4 + MESSAGE_INTEGRITY_LENGTH : 0) + (options.fingerprint ? 8 : 0);
  if (bodyLength + extra > 0xffff) throw new RangeError('STUN message too long');
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt16BE(msg.type & 0x3fff, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  header.set(msg.transactionId, 8);
  let out = Buffer.concat([header, ...parts]);
  if (options.integrityKey) {
    out.writeUInt16BE(out.length - HEADER_LENGTH + 4 + MESSAGE_INTEGRITY_LENGTH, 2);
    const mi = Buffer.alloc(4);
    mi.writeUInt16BE(ATTR_MESSAGE_INTEGRITY, 0);
    mi.writeUInt16BE(MESSAGE_INTEGRITY_LENGTH, 2);
    out = Buffer.concat([out, mi, integrityOver(out, options.integrityKey)]);
  }
  if (options.fingerprint) {
    out.writeUInt16BE(out.length - HEADER_LENGTH + 8, 2);
    const fp = Buffer.alloc(8);
    fp.writeUInt16BE(ATTR_FINGERPRINT, 0);
    fp.writeUInt16BE(4, 2);
    fp.writeUInt32BE((crc32(out) ^ FINGERPRINT_XOR) >>> 0, 4);
    out = Buffer.concat([out, fp]);
  }
  out.writeUInt16BE(out.length - HEADER_LENGTH, 2);
  return out;
}
