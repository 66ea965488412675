// Proof of the room secret that keeps the server blind. Each room has an Ed25519 key pair whose
// seed agents derive from the room secret (room-key.ts); the room id is a hash of the public key.
// Joining carries the public key and a signature over the connection's nonce (from welcome): the
// server checks that the key hashes to the room id and that the signature verifies. It learns a
// public key, with which it can neither sign another nonce (join) nor open a blob (the seal key
// is derived apart from it); a proof seen on the wire is bound to one connection's nonce.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export const JOIN_SEED_BYTES = 32;
export const JOIN_KEY_BYTES = 32;
export const JOIN_PROOF_BYTES = 64;
/** The per-connection nonce welcome carries: base64url of this many random bytes. */
export const JOIN_NONCE_BYTES = 32;

// DER prefixes of an Ed25519 private key (PKCS#8, RFC 8410) and public key (SPKI) before the 32 raw bytes.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface JoinProof {
  /** base64url of the room's Ed25519 public key. */
  key: string;
  /** base64url of the signature over the connection's nonce and the room id. */
  proof: string;
}

function privateKeyOf(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** The room's public key for a join seed (deterministic). */
export function joinPublicKey(seed: Uint8Array): Buffer {
  const jwk = createPublicKey(privateKeyOf(seed)).export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url');
}

/** The room id for a room public key: 64 lowercase hex characters. */
export function roomIdForKey(publicKey: Uint8Array): string {
  return createHash('sha256').update('wgp2p room id v2\0').update(publicKey).digest('hex');
}

function signedBytes(roomId: string, nonce: string): Buffer {
  return Buffer.from(`wgp2p join v2\0${roomId}\0${nonce}`, 'utf8');
}

/** What a join carries to prove the secret of room `roomId` on the connection welcomed with `nonce`. */
export function signJoin(roomId: string, seed: Uint8Array, nonce: string): JoinProof {
  return {
    key: joinPublicKey(seed).toString('base64url'),
    proof: sign(null, signedBytes(roomId, nonce), privateKeyOf(seed)).toString('base64url'),
  };
}

/** The server's check of a join: the key is the room's and signed this connection's nonce. Never throws. */
export function verifyJoin(roomId: string, nonce: string, key: string, proof: string): boolean {
  const publicKey = Buffer.from(key, 'base64url');
  const signature = Buffer.from(proof, 'base64url');
  if (publicKey.length !== JOIN_KEY_BYTES || signature.length !== JOIN_PROOF_BYTES) return false;
  if (roomIdForKey(publicKey) !== roomId) return false;
  try {
    const spki = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return verify(null, signedBytes(roomId, nonce), spki, signature);
  } catch {
    return false; // not a point on the curve
  }
}
