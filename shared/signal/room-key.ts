// The agents' side of the trust model: the room name and secret never leave the agent. Both are
// stretched into an opaque room id (all the server routes by) and a key that seals every
// announcement and directed message. The server forwards the sealed blobs untouched; whoever
// lacks the secret (the operator, anyone on the wire) can neither read them nor forge one that
// a member would accept.
import { hkdfSync, randomBytes, scrypt, scryptSync } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { joinPublicKey, roomIdForKey, signJoin, type JoinProof } from './join-proof.js';
import { MAX_BLOB_BYTES } from './protocol.js';

export interface RoomCredentials {
  /** 64 lowercase hex characters: what join/update/send carry as `room`. */
  roomId: string;
  /** Seals and opens this room's blobs. Never sent anywhere. */
  key: Uint8Array;
  /** Seed of the room's Ed25519 key pair, which proves the secret when joining. Never sent. */
  joinSeed: Uint8Array;
}

/** What a sealed blob is for; bound into it, so one cannot be replayed as the other. */
export type SealPurpose = 'announce' | 'message';

const VERSION = 1;
const PURPOSE_BYTE: Record<SealPurpose, number> = { announce: 1, message: 2 };
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const TIME_BYTES = 8;
const HEADER_BYTES = 2 + NONCE_BYTES;
/** Largest payload that still fits in one protocol blob once sealed. */
export const MAX_SEALED_PAYLOAD = MAX_BLOB_BYTES - HEADER_BYTES - TAG_BYTES - TIME_BYTES;

// scrypt makes guessing a weak secret from a room id (which the server sees) expensive:
// 32 MiB and tens of milliseconds per guess. Agents pay it once per room at start-up.
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** scrypt's password and salt for a room; the name salts the secret, so one secret reused for two rooms gives unrelated rooms. */
function scryptInputs(name: string, secret: string): { password: Buffer; salt: Buffer } {
  if (name.length === 0) throw new Error('room name must not be empty');
  if (secret.length === 0) throw new Error('room secret must not be empty');
  return { password: Buffer.from(secret.normalize('NFC'), 'utf8'), salt: Buffer.from(`wgp2p room v1\0${name.normalize('NFC')}`, 'utf8') };
}

function expandRoom(master: Buffer): RoomCredentials {
  const expand = (label: string) => new Uint8Array(hkdfSync('sha256', master, Buffer.alloc(0), `wgp2p room ${label}`, 32));
  const joinSeed = expand('join key');
  // The id is a hash of the join public key, so the server can check a join proof against it.
  return { roomId: roomIdForKey(joinPublicKey(joinSeed)), key: expand('seal key'), joinSeed };
}

/** The key and proof a join to `room` carries on the connection welcomed with `nonce`. */
export function roomJoinProof(room: RoomCredentials, nonce: string): JoinProof {
  return signJoin(room.roomId, room.joinSeed, nonce);
}

/** Derives the room id and key from a room name and its secret. Deterministic. */
export function deriveRoom(name: string, secret: string): RoomCredentials {
  const { password, salt } = scryptInputs(name, secret);
  return expandRoom(scryptSync(password, salt, 32, SCRYPT));
}

/**
 * deriveRoom on libuv's thread pool: the ~150 ms of scrypt then overlap with start-up work on
 * the main thread (bringing the tunnel up) instead of adding to it.
 */
export async function deriveRoomAsync(name: string, secret: string): Promise<RoomCredentials> {
  const { password, salt } = scryptInputs(name, secret);
  const master = await new Promise<Buffer>((resolve, reject) => scrypt(password, salt, 32, SCRYPT, (e, key) => (e ? reject(e) : resolve(key))));
  return expandRoom(master);
}

function associatedData(roomId: string, purpose: SealPurpose): Uint8Array {
  return Buffer.from(`wgp2p seal v${VERSION}\0${roomId}\0${purpose}`, 'utf8');
}

/**
 * Seals `payload` for `purpose` in this room: base64 of version, purpose, nonce, then the
 * encrypted issue time (ms) and payload with their tag. The time lets receivers drop replays of
 * stale announcements. Throws if the payload cannot fit in a protocol blob.
 */
export function sealForRoom(room: RoomCredentials, purpose: SealPurpose, payload: Uint8Array, now = Date.now()): string {
  if (payload.length > MAX_SEALED_PAYLOAD) throw new RangeError(`sealed payload exceeds ${MAX_SEALED_PAYLOAD} bytes`);
  const nonce = randomBytes(NONCE_BYTES);
  const plain = Buffer.alloc(TIME_BYTES + payload.length);
  plain.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now))), 0);
  plain.set(payload, TIME_BYTES);
  const sealed = xchacha20poly1305(room.key, nonce, associatedData(room.roomId, purpose)).encrypt(plain);
  return Buffer.concat([Buffer.from([VERSION, PURPOSE_BYTE[purpose]]), nonce, sealed]).toString('base64');
}

export interface OpenedBlob {
  payload: Uint8Array;
  /** When the sender sealed it (its clock, ms since the epoch). */
  issuedAt: number;
}

/**
 * Opens a blob sealed by a member of this room for `purpose`. Undefined for anything else: not
 * base64, another version, room or purpose, tampered, or sealed without the room secret.
 */
export function openForRoom(room: RoomCredentials, purpose: SealPurpose, blob: string): OpenedBlob | undefined {
  const bytes = Buffer.from(blob, 'base64');
  if (bytes.toString('base64') !== blob) return undefined; // not canonical base64
  if (bytes.length < HEADER_BYTES + TIME_BYTES + TAG_BYTES) return undefined;
  if (bytes[0] !== VERSION || bytes[1] !== PURPOSE_BYTE[purpose]) return undefined;
  const nonce = bytes.subarray(2, HEADER_BYTES);
  let plain: Uint8Array;
  try {
    plain = xchacha20poly1305(room.key, nonce, associatedData(room.roomId, purpose)).decrypt(bytes.subarray(HEADER_BYTES));
  } catch {
    return undefined; // authentication failed
  }
  const issuedAt = Number(Buffer.from(plain.buffer, plain.byteOffset, TIME_BYTES).readBigUInt64BE(0));
  return { payload: plain.subarray(TIME_BYTES), issuedAt };
}
