// Type guards for the field values of signalling messages. Used on both sides so an agent
// and the server agree exactly on what is well-formed.
import { isIP } from 'node:net';
import { MAX_BLOB_BYTES, MAX_REF_LENGTH, MAX_TOKEN_LENGTH } from './protocol.js';

export type JsonObject = Record<string, unknown>;

const ROOM_ID = /^[0-9a-f]{64}$/;
const MEMBER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const REF = new RegExp(`^[\\x21-\\x7e]{1,${MAX_REF_LENGTH}}$`);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ERROR_CODE = /^[A-Z][A-Z_]{0,31}$/;

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads an own property only: inherited names such as "constructor" never count as fields. */
export function field(o: JsonObject, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** The first key not in `allowed`, e.g. "__proto__" from hostile JSON. */
export function unexpectedKey(o: JsonObject, allowed: readonly string[]): string | undefined {
  return Object.keys(o).find((k) => !allowed.includes(k));
}

export function isRoomId(v: unknown): v is string {
  return typeof v === 'string' && ROOM_ID.test(v);
}

export function isMemberId(v: unknown): v is string {
  return typeof v === 'string' && MEMBER_ID.test(v);
}

/** base64url without padding of exactly `bytes` bytes. */
export function isBase64url(v: unknown, bytes: number): v is string {
  return typeof v === 'string' && v.length === Math.ceil((bytes * 4) / 3) && /^[A-Za-z0-9_-]*$/.test(v);
}

/** Longest text form of an IP address (IPv6 with an embedded IPv4 tail). */
const MAX_IP_TEXT = 45;

/** A plain IP address literal: no port, no zone. */
export function isIpLiteral(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_IP_TEXT && !v.includes('%') && isIP(v) !== 0;
}

export function isRef(v: unknown): v is string {
  return typeof v === 'string' && REF.test(v);
}

export function isToken(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= MAX_TOKEN_LENGTH;
}

export function isVersion(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 0xffff;
}

export function isErrorCode(v: unknown): v is string {
  return typeof v === 'string' && ERROR_CODE.test(v);
}

/** Decoded size of a canonical base64 string, or -1 when it is not one. */
export function base64DecodedLength(s: string): number {
  if (s.length % 4 !== 0 || !BASE64.test(s)) return -1;
  const padding = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return (s.length / 4) * 3 - padding;
}

export type BlobCheck = 'ok' | 'not-base64' | 'too-large';

export function checkBlob(v: unknown): BlobCheck {
  if (typeof v !== 'string') return 'not-base64';
  // Length first, so an oversized value costs no regex work.
  if (v.length > Math.ceil(MAX_BLOB_BYTES / 3) * 4) return 'too-large';
  const n = base64DecodedLength(v);
  if (n < 0) return 'not-base64';
  return n > MAX_BLOB_BYTES ? 'too-large' : 'ok';
}

export function isBlob(v: unknown): v is string {
  return checkBlob(v) === 'ok';
}

/** JSON.parse of one text frame that must hold a JSON object; never throws. */
export function parseJsonObject(text: string): { ok: true; value: JsonObject } | { ok: false; code: 'BAD_JSON'; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'BAD_JSON', message: 'frame is not valid JSON' };
  }
  if (!isJsonObject(value)) return { ok: false, code: 'BAD_JSON', message: 'frame must be a JSON object' };
  return { ok: true, value };
}
