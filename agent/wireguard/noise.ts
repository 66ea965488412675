// Noise_IKpsk2 as WireGuard uses it: building and consuming the initiation and the response.
// Pure functions over explicit state; macs are added/checked by cookie.ts, sessions by keypair.ts.
import { CONSTRUCTION, IDENTIFIER, KEY_LEN, TAG_LEN, TIMESTAMP_LEN } from './constants.js';
import { PrivateKey, hash, kdf, open, sealHandshake, type Bytes } from './crypto.js';
import { decodeInitiation, decodeResponse, encodeInitiation, encodeResponse } from './messages.js';

const EMPTY = new Uint8Array(0);
export const INITIAL_CHAINING_KEY = hash(Buffer.from(CONSTRUCTION));
export const INITIAL_HASH = hash(INITIAL_CHAINING_KEY, Buffer.from(IDENTIFIER));
const ZERO_KEY = Buffer.alloc(KEY_LEN);

/** What the handshake needs to know about a configured peer. */
export interface PeerSecrets {
  remoteStatic: Buffer;
  presharedKey: Buffer; // 32 zero bytes when none is configured
  /** DH(our static, their static), computed once; undefined for a low-order key (no handshakes). */
  staticStatic: Buffer | undefined;
}

/** State the initiator keeps between sending the initiation and receiving the response. */
export interface InitiatorState {
  localIndex: number;
  hash: Buffer;
  chainingKey: Buffer;
  ephemeral: PrivateKey;
}

export interface SessionKeys {
  send: Buffer;
  receive: Buffer;
}

export function peerSecrets(local: PrivateKey, remoteStatic: Buffer, presharedKey?: Buffer): PeerSecrets {
  return { remoteStatic, presharedKey: presharedKey ?? ZERO_KEY, staticStatic: local.dh(remoteStatic) };
}

/**
 * The steps both sides take identically up to the encrypted static key: mix in the responder's
 * static key and the initiator's ephemeral, then the es DH. Undefined for a low-order point.
 */
function initiationStart(responderStatic: Bytes, ephemeralPublic: Bytes, es: Buffer | undefined): { h: Buffer; c: Buffer; k: Buffer } | undefined {
  if (!es) return undefined;
  const h = hash(hash(INITIAL_HASH, responderStatic), ephemeralPublic);
  const [c0] = kdf(1, INITIAL_CHAINING_KEY, ephemeralPublic) as [Buffer];
  const [c, k] = kdf(2, c0, es) as [Buffer, Buffer];
  return { h, c, k };
}

/** Builds an initiation (macs not yet written). `timestamp` is a TAI64N label. */
export function createInitiation(
  local: PrivateKey,
  peer: PeerSecrets,
  localIndex: number,
  timestamp: Uint8Array,
  ephemeral: PrivateKey = PrivateKey.generate(),
): { message: Buffer; state: InitiatorState } | undefined {
  if (!peer.staticStatic) return undefined;
  const first = initiationStart(peer.remoteStatic, ephemeral.publicKey, ephemeral.dh(peer.remoteStatic));
  if (!first) return undefined;
  let { h, c, k } = first;
  const encryptedStatic = sealHandshake(k, local.publicKey, h);
  h = hash(h, encryptedStatic);
  [c, k] = kdf(2, c, peer.staticStatic) as [Buffer, Buffer];
  const encryptedTimestamp = sealHandshake(k, timestamp, h);
  h = hash(h, encryptedTimestamp);
  const message = encodeInitiation({ sender: localIndex, ephemeral: ephemeral.publicKey, encryptedStatic, encryptedTimestamp });
  return { message, state: { localIndex, hash: h, chainingKey: c, ephemeral } };
}

/** What a responder learns from a valid initiation. */
export interface ConsumedInitiation {
  remoteStatic: Buffer;
  remoteIndex: number;
  remoteEphemeral: Buffer;
  timestamp: Buffer;
  hash: Buffer;
  chainingKey: Buffer;
}

/**
 * Decrypts an initiation. `findPeer` maps the revealed static key to that peer's secrets
 * (undefined: unknown peer → the initiation is dropped). Timestamp freshness is the caller's job.
 */
export function consumeInitiation(
  local: PrivateKey,
  message: Buffer,
  findPeer: (remoteStatic: Buffer) => PeerSecrets | undefined,
): { consumed: ConsumedInitiation; peer: PeerSecrets } | undefined {
  const m = decodeInitiation(message);
  if (!m) return undefined;
  const first = initiationStart(local.publicKey, m.ephemeral, local.dh(m.ephemeral));
  if (!first) return undefined;
  let { h, c, k } = first;
  const remoteStatic = open(k, 0, m.encryptedStatic, h);
  if (!remoteStatic || remoteStatic.length !== KEY_LEN) return undefined;
  h = hash(h, m.encryptedStatic);
  const peer = findPeer(remoteStatic);
  if (!peer || !peer.staticStatic) return undefined;
  [c, k] = kdf(2, c, peer.staticStatic) as [Buffer, Buffer];
  const timestamp = open(k, 0, m.encryptedTimestamp, h);
  if (!timestamp || timestamp.length !== TIMESTAMP_LEN) return undefined;
  h = hash(h, m.encryptedTimestamp);
  return {
    consumed: {
      remoteStatic,
      remoteIndex: m.sender,
      remoteEphemeral: Buffer.from(m.ephemeral),
      timestamp,
      hash: h,
      chainingKey: c,
    },
    peer,
  };
}

/**
 * The response's steps both sides take identically: mix in the responder's ephemeral, the ee and
 * se DH results and the preshared key. Undefined for a low-order point.
 */
function responseMix(
  hash0: Buffer,
  chainingKey: Buffer,
  responderEphemeral: Bytes,
  ee: Buffer | undefined,
  se: Buffer | undefined,
  presharedKey: Buffer,
): { h: Buffer; c: Buffer; k: Buffer } | undefined {
  if (!ee || !se) return undefined;
  const [c1] = kdf(1, chainingKey, responderEphemeral) as [Buffer];
  const [c2] = kdf(1, c1, ee) as [Buffer];
  const [c3] = kdf(1, c2, se) as [Buffer];
  const [c, tau, k] = kdf(3, c3, presharedKey) as [Buffer, Buffer, Buffer];
  return { h: hash(hash(hash0, responderEphemeral), tau), c, k };
}

/** Builds the response to a consumed initiation and derives the responder's session keys. */
export function createResponse(
  peer: PeerSecrets,
  init: ConsumedInitiation,
  localIndex: number,
  ephemeral: PrivateKey = PrivateKey.generate(),
): { message: Buffer; keys: SessionKeys } | undefined {
  const mixed = responseMix(init.hash, init.chainingKey, ephemeral.publicKey, ephemeral.dh(init.remoteEphemeral), ephemeral.dh(peer.remoteStatic), peer.presharedKey);
  if (!mixed) return undefined;
  const { h, c, k } = mixed;
  const encryptedNothing = sealHandshake(k, EMPTY, h);
  const message = encodeResponse({ sender: localIndex, receiver: init.remoteIndex, ephemeral: ephemeral.publicKey, encryptedNothing });
  const [receive, send] = kdf(2, c, EMPTY) as [Buffer, Buffer];
  return { message, keys: { send, receive } };
}

/** Consumes a response to our initiation; undefined if it does not authenticate. */
export function consumeResponse(
  local: PrivateKey,
  peer: PeerSecrets,
  state: InitiatorState,
  message: Buffer,
): { remoteIndex: number; keys: SessionKeys } | undefined {
  const m = decodeResponse(message);
  if (!m) return undefined;
  if (m.receiver !== state.localIndex) return undefined;
  const mixed = responseMix(state.hash, state.chainingKey, m.ephemeral, state.ephemeral.dh(m.ephemeral), local.dh(m.ephemeral), peer.presharedKey);
  if (!mixed) return undefined;
  const { h, c, k } = mixed;
  if (m.encryptedNothing.length !== TAG_LEN || !open(k, 0, m.encryptedNothing, h)) return undefined;
  const [send, receive] = kdf(2, c, EMPTY) as [Buffer, Buffer];
  return { remoteIndex: m.sender, keys: { send, receive } };
}

export type { Bytes };
