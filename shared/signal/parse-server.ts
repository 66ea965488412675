// Validation of server -> agent frames. Field values are checked as strictly as on the server;
// unknown extra fields are ignored (never copied), so a newer server can add fields without
// breaking older agents.
import {
  field,
  isBlob,
  isErrorCode,
  isIpLiteral,
  isJsonObject,
  isMemberId,
  isRef,
  isRoomId,
  isVersion,
  parseJsonObject,
  type JsonObject,
} from './fields.js';
import {
  SERVER_MESSAGE_TYPES,
  type MemberInfo,
  type ParseResult,
  type ServerMessage,
  type ServerMessageType,
} from './protocol.js';

const MAX_TEXT = 1024;
const MAX_MEMBERS = 100_000;

function isServerType(v: unknown): v is ServerMessageType {
  return typeof v === 'string' && (SERVER_MESSAGE_TYPES as readonly string[]).includes(v);
}

function isShortText(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_TEXT;
}

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

/** base64url of 32 bytes. */
function isRelayToken(v: unknown): v is string {
  return typeof v === 'string' && /^[A-Za-z0-9_-]{43}$/.test(v);
}

function bad(message: string): ParseResult<ServerMessage> {
  return { ok: false, code: 'BAD_FIELD', message };
}

/** The optional `seen` of a member (protocol.ts Seen), absent from older servers; undefined when bad. */
function parseSeen(o: JsonObject): { seen?: string } | undefined {
  const seen = field(o, 'seen');
  if (seen === undefined) return {};
  return isIpLiteral(seen) ? { seen } : undefined;
}

function parseMember(v: unknown): MemberInfo | undefined {
  if (!isJsonObject(v)) return undefined;
  const id = field(v, 'id');
  const announce = field(v, 'announce');
  const seen = parseSeen(v);
  return isMemberId(id) && isBlob(announce) && seen ? { id, announce, ...seen } : undefined;
}

function parseMembers(v: unknown): MemberInfo[] | undefined {
  if (!Array.isArray(v) || v.length > MAX_MEMBERS) return undefined;
  const out: MemberInfo[] = [];
  for (const item of v) {
    const m = parseMember(item);
    if (!m) return undefined;
    out.push(m);
  }
  return out;
}

function parseObject(o: JsonObject): ParseResult<ServerMessage> {
  const type = field(o, 'type');
  if (!isServerType(type)) return { ok: false, code: 'UNKNOWN_TYPE', message: 'unknown server message type' };
  const rawRef = field(o, 'ref');
  if (rawRef !== undefined && !isRef(rawRef)) return bad('bad ref');
  const ref = rawRef === undefined ? {} : { ref: rawRef };
  const room = field(o, 'room');
  const id = field(o, 'id');
  switch (type) {
    case 'welcome': {
      const v = field(o, 'v');
      const serverId = field(o, 'serverId');
      const yourAddress = field(o, 'yourAddress');
      const nonce = field(o, 'nonce');
      if (!isVersion(v) || !isMemberId(serverId) || !isMemberId(id)) return bad('bad welcome');
      if (!isRelayToken(nonce)) return bad('bad nonce');
      if (yourAddress !== undefined && !isShortText(yourAddress)) return bad('bad yourAddress');
      const stunPort = field(o, 'stunPort');
      const relayPort = field(o, 'relayPort');
      const relayToken = field(o, 'relayToken');
      const wsRelay = field(o, 'wsRelay');
      if (stunPort !== undefined && !isPort(stunPort)) return bad('bad stunPort');
      if (relayPort !== undefined && !isPort(relayPort)) return bad('bad relayPort');
      if (relayToken !== undefined && !isRelayToken(relayToken)) return bad('bad relayToken');
      if (wsRelay !== undefined && typeof wsRelay !== 'boolean') return bad('bad wsRelay');
      return {
        ok: true,
        message: {
          type,
          v,
          serverId,
          id,
          nonce,
          ...ref,
          ...(yourAddress === undefined ? {} : { yourAddress }),
          ...(stunPort === undefined ? {} : { stunPort }),
          ...(relayPort === undefined ? {} : { relayPort }),
          ...(relayToken === undefined ? {} : { relayToken }),
          ...(wsRelay === undefined ? {} : { wsRelay }),
        },
      };
    }
    case 'pong':
      return { ok: true, message: { type, ...ref } };
    case 'error': {
      const code = field(o, 'code');
      const message = field(o, 'message');
      const member = field(o, 'member');
      if (!isErrorCode(code) || !isShortText(message) || (member !== undefined && !isMemberId(member))) return bad('bad error');
      return { ok: true, message: { type, code, message, ...ref, ...(member === undefined ? {} : { member }) } };
    }
  }
  if (!isRoomId(room)) return bad('bad room');
  switch (type) {
    case 'members': {
      const members = parseMembers(field(o, 'members'));
      return members ? { ok: true, message: { type, room, members, ...ref } } : bad('bad members');
    }
    case 'member-left':
      return isMemberId(id) ? { ok: true, message: { type, room, id } } : bad('bad id');
    case 'member-joined':
    case 'member-update': {
      const announce = field(o, 'announce');
      const seen = parseSeen(o);
      if (!isMemberId(id) || !isBlob(announce) || !seen) return bad(`bad ${type}`);
      return { ok: true, message: { type, room, id, announce, ...seen } };
    }
    case 'message': {
      const from = field(o, 'from');
      const data = field(o, 'data');
      if (!isMemberId(from) || !isBlob(data)) return bad('bad message');
      return { ok: true, message: { type, room, from, data } };
    }
  }
}

/** Parses one text frame from the server (agent side). Never throws. */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  const frame = parseJsonObject(text);
  return frame.ok ? parseObject(frame.value) : frame;
}
