// The signalling protocol between agents and `wgp2p server`, version 2 (joins prove the room secret).
// Text WebSocket frames, one JSON object each. Binary frames carry the packet relay (see
// shared/wire/relay.ts) when the server's welcome says `wsRelay`. The server routes by opaque room ids and forwards opaque announcements: room names,
// secrets and endpoints never reach it in the clear (agents encrypt and authenticate blobs).
// Joining a room proves its secret without showing it (shared/signal/join-proof.ts).

/** 2: join carries the room key and a proof over welcome's nonce; version 1 agents get VERSION. */
export const PROTOCOL_VERSION = 2;

/** Largest announcement or directed-message payload, in decoded bytes. */
export const MAX_BLOB_BYTES = 4096;
/** Base64 length of MAX_BLOB_BYTES bytes (with padding). */
export const MAX_BLOB_BASE64_LENGTH = Math.ceil(MAX_BLOB_BYTES / 3) * 4;
export const MAX_TOKEN_LENGTH = 256;
export const MAX_REF_LENGTH = 64;

/** Stable error codes: agents may switch on these; the human-readable message may change. */
export const ERROR_CODES = [
  'BAD_JSON', // not JSON, or not a JSON object
  'UNKNOWN_TYPE', // "type" names no message this server knows
  'BAD_FIELD', // a field is missing, of the wrong type or format, or not part of the message
  'TOO_LARGE', // an announcement or payload exceeds MAX_BLOB_BYTES
  'RATE_LIMITED', // frames arrive faster than the per-connection budget; they are dropped
  'ROOM_FULL', // the room has the server's maximum number of members
  'SERVER_FULL', // the server holds its maximum number of rooms
  'TOO_MANY_ROOMS', // this connection is in as many rooms as one connection may join
  'UNAUTHORIZED', // the server wants a token and hello did not carry the right one
  'HELLO_REQUIRED', // the first message must be hello
  'BAD_STATE', // e.g. a second hello
  'NOT_IN_ROOM', // leave/update/send for a room this connection has not joined
  'ALREADY_IN_ROOM', // join for a room this connection is already in
  'NO_SUCH_MEMBER', // send to an id that is not in that room
  'VERSION', // hello asked for a protocol version this server does not speak
  'BINARY_UNSUPPORTED', // a binary frame to a server without the WebSocket relay, or before hello
  'BAD_PROOF', // join's key is not the room's, or its proof does not sign this connection's nonce
  'ADDRESS_LIMIT', // the client's address (or its /24, IPv6 /56) holds as many rooms as it may
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Optional correlation id a client may put on any request; echoed on the reply or error. */
export interface WithRef {
  ref?: string;
}

export interface HelloMessage extends WithRef {
  type: 'hello';
  v: number;
  token?: string;
}
export interface JoinMessage extends WithRef {
  type: 'join';
  /** Opaque room id: 64 lowercase hex characters (agents derive it from name and secret). */
  room: string;
  /** Opaque base64 blob, at most MAX_BLOB_BYTES decoded; forwarded to the room as is. */
  announce: string;
  /** base64url of the room's Ed25519 public key: its SHA-256 (with a label) is the room id. */
  key: string;
  /** base64url of the Ed25519 signature over the room id and welcome's nonce. */
  proof: string;
}
export interface LeaveMessage extends WithRef {
  type: 'leave';
  room: string;
}
export interface UpdateMessage extends WithRef {
  type: 'update';
  room: string;
  announce: string;
}
export interface SendMessage extends WithRef {
  type: 'send';
  room: string;
  /** Member id of the one recipient. */
  to: string;
  data: string;
}
export interface PingMessage extends WithRef {
  type: 'ping';
}

export type ClientMessage = HelloMessage | JoinMessage | LeaveMessage | UpdateMessage | SendMessage | PingMessage;
export type ClientMessageType = ClientMessage['type'];
export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = ['hello', 'join', 'leave', 'update', 'send', 'ping'];

/**
 * The public IP the server observed for a member (no port): the source of its authenticated UDP
 * relay binding when it has one, else of its WebSocket connection. The server already knows it;
 * members check a member's announced public address against it before birthday punching
 * (agent/join/paths/direct/birthday-attest.ts). Servers before this field send none.
 */
export interface Seen {
  seen?: string;
}

export interface MemberInfo extends Seen {
  id: string;
  announce: string;
}

export interface WelcomeMessage extends WithRef {
  type: 'welcome';
  v: number;
  /** Random per server process: a new value tells agents the server restarted. */
  serverId: string;
  /** This connection's member id (random, per connection). */
  id: string;
  /** Random per connection (base64url of 32 bytes): what join proofs sign. */
  nonce: string;
  /** The address the server sees this connection come from ("ip:port" / "[ip6]:port"). */
  yourAddress?: string;
  /** The server's STUN port, on the host of the URL the agent connected to. */
  stunPort?: number;
  /** The server's UDP packet relay port (on the same host), when it runs one (`--relay`). */
  relayPort?: number;
  /** Proves this connection's member id to the UDP relay: base64url of 32 bytes, the BIND auth. */
  relayToken?: string;
  /** True when binary frames relay WireGuard packets to other members of a shared room. */
  wsRelay?: boolean;
}
export interface MembersMessage extends WithRef {
  type: 'members';
  room: string;
  /** Everyone else in the room, at the moment of joining. */
  members: MemberInfo[];
}
export interface MemberJoinedMessage extends Seen {
  type: 'member-joined';
  room: string;
  id: string;
  announce: string;
}
export interface MemberLeftMessage {
  type: 'member-left';
  room: string;
  id: string;
}
/** A new announcement, or (same announcement) a new `seen` when the member's UDP binding moved. */
export interface MemberUpdateMessage extends Seen {
  type: 'member-update';
  room: string;
  id: string;
  announce: string;
}
export interface DirectMessage {
  type: 'message';
  room: string;
  from: string;
  data: string;
}
export interface PongMessage extends WithRef {
  type: 'pong';
}
export interface ErrorMessage extends WithRef {
  type: 'error';
  /** One of ERROR_CODES from this server; parsers accept other upper-case codes from newer ones. */
  code: string;
  message: string;
  /** The member the error is about, where there is one (NO_SUCH_MEMBER from the WebSocket relay). */
  member?: string;
}

export type ServerMessage =
  | WelcomeMessage
  | MembersMessage
  | MemberJoinedMessage
  | MemberLeftMessage
  | MemberUpdateMessage
  | DirectMessage
  | PongMessage
  | ErrorMessage;
export type ServerMessageType = ServerMessage['type'];
export const SERVER_MESSAGE_TYPES: readonly ServerMessageType[] = [
  'welcome',
  'members',
  'member-joined',
  'member-left',
  'member-update',
  'message',
  'pong',
  'error',
];

export type ParseResult<T> =
  | { ok: true; message: T }
  | { ok: false; code: ErrorCode; message: string; ref?: string };

/** Messages are plain data built field by field, so serialising them cannot leak extra state. */
export function encodeMessage(message: ClientMessage | ServerMessage): string {
  return JSON.stringify(message);
}
