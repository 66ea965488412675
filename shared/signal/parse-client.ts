// Validation of agent -> server frames. Strict: unknown fields are refused (so "__proto__" or
// "constructor" keys never get near application objects), and every message is rebuilt field by
// field from checked values instead of handing on what JSON.parse produced.
import {
  checkBlob,
  field,
  isBase64url,
  isMemberId,
  isRef,
  isRoomId,
  isToken,
  isVersion,
  parseJsonObject,
  unexpectedKey,
  type JsonObject,
} from './fields.js';
import {
  CLIENT_MESSAGE_TYPES,
  MAX_BLOB_BYTES,
  type ClientMessage,
  type ClientMessageType,
  type ErrorCode,
  type ParseResult,
} from './protocol.js';
import { JOIN_KEY_BYTES, JOIN_PROOF_BYTES } from './join-proof.js';

type Fail = { ok: false; code: ErrorCode; message: string; ref?: string };

const FIELDS: Record<ClientMessageType, readonly string[]> = {
  hello: ['type', 'v', 'token', 'ref'],
  join: ['type', 'room', 'announce', 'key', 'proof', 'ref'],
  leave: ['type', 'room', 'ref'],
  update: ['type', 'room', 'announce', 'ref'],
  send: ['type', 'room', 'to', 'data', 'ref'],
  ping: ['type', 'ref'],
};

function isClientType(v: unknown): v is ClientMessageType {
  return typeof v === 'string' && (CLIENT_MESSAGE_TYPES as readonly string[]).includes(v);
}

/** Attacker-chosen text goes into error messages only JSON-escaped and truncated. */
function quote(s: string): string {
  return JSON.stringify(s.length > 32 ? `${s.slice(0, 32)}...` : s);
}

function fail(code: ErrorCode, message: string, ref: string | undefined): Fail {
  return ref === undefined ? { ok: false, code, message } : { ok: false, code, message, ref };
}

function blobError(name: string, v: unknown, ref: string | undefined): Fail | undefined {
  const check = checkBlob(v);
  if (check === 'too-large') return fail('TOO_LARGE', `${name} exceeds ${MAX_BLOB_BYTES} bytes`, ref);
  if (check === 'not-base64') return fail('BAD_FIELD', `${name} must be a base64 string`, ref);
  return undefined;
}

function withRef<T extends object>(message: T, ref: string | undefined): T & { ref?: string } {
  return ref === undefined ? message : { ...message, ref };
}

function parseObject(o: JsonObject): ParseResult<ClientMessage> {
  const rawRef = field(o, 'ref');
  if (rawRef !== undefined && !isRef(rawRef)) return fail('BAD_FIELD', 'ref must be 1-64 printable ASCII characters', undefined);
  const ref = rawRef;
  const type = field(o, 'type');
  if (typeof type !== 'string') return fail('BAD_FIELD', 'type must be a string', ref);
  if (!isClientType(type)) return fail('UNKNOWN_TYPE', `unknown message type ${quote(type)}`, ref);
  const extra = unexpectedKey(o, FIELDS[type]);
  if (extra !== undefined) return fail('BAD_FIELD', `unexpected field ${quote(extra)} in ${type}`, ref);

  const room = field(o, 'room');
  if (type !== 'hello' && type !== 'ping' && !isRoomId(room)) {
    return fail('BAD_FIELD', 'room must be 64 lowercase hex characters', ref);
  }
  switch (type) {
    case 'hello': {
      const v = field(o, 'v');
      const token = field(o, 'token');
      if (!isVersion(v)) return fail('BAD_FIELD', 'v must be an integer protocol version', ref);
      if (token !== undefined && !isToken(token)) return fail('BAD_FIELD', 'token must be a string of 1-256 characters', ref);
      return { ok: true, message: withRef(token === undefined ? { type, v } : { type, v, token }, ref) };
    }
    case 'ping':
      return { ok: true, message: withRef({ type }, ref) };
  }
  // The remaining types all carry a room, checked above; the guard is repeated for the compiler.
  if (!isRoomId(room)) return fail('BAD_FIELD', 'room must be 64 lowercase hex characters', ref);
  switch (type) {
    case 'leave':
      return { ok: true, message: withRef({ type, room }, ref) };
    case 'join':
    case 'update': {
      const announce = field(o, 'announce');
      const bad = blobError('announce', announce, ref);
      if (bad || typeof announce !== 'string') return bad ?? fail('BAD_FIELD', 'announce missing', ref);
      if (type === 'update') return { ok: true, message: withRef({ type, room, announce }, ref) };
      const key = field(o, 'key');
      const proof = field(o, 'proof');
      if (!isBase64url(key, JOIN_KEY_BYTES)) return fail('BAD_FIELD', 'key must be the room public key (base64url of 32 bytes)', ref);
      if (!isBase64url(proof, JOIN_PROOF_BYTES)) return fail('BAD_FIELD', 'proof must be a signature (base64url of 64 bytes)', ref);
      return { ok: true, message: withRef({ type, room, announce, key, proof }, ref) };
    }
    case 'send': {
      const to = field(o, 'to');
      const data = field(o, 'data');
      if (!isMemberId(to)) return fail('BAD_FIELD', 'to must be a member id', ref);
      const bad = blobError('data', data, ref);
      if (bad || typeof data !== 'string') return bad ?? fail('BAD_FIELD', 'data missing', ref);
      return { ok: true, message: withRef({ type, room, to, data }, ref) };
    }
  }
}

/** Parses one text frame from an agent. Never throws. */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  const frame = parseJsonObject(text);
  return frame.ok ? parseObject(frame.value) : frame;
}
