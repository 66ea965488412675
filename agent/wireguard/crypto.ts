// Cryptographic primitives of WireGuard, each implemented with whichever library measured faster
// on this machine for that job (numbers in README.md, "Design notes"):
//  - X25519 and ChaCha20-Poly1305: node:crypto (OpenSSL) — 25× and 3× faster than @noble; transport
//    messages go through aead.ts instead (the same OpenSSL, one context per key, in our addon).
//  - BLAKE2s hash and HMAC-BLAKE2s: node:crypto's 'blake2s256'.
//  - Keyed BLAKE2s-128 (mac1, mac2, cookies): @noble/hashes, because OpenSSL's keyed BLAKE2s and
//    variable output length are not exposed by node:crypto.
//  - XChaCha20-Poly1305 (cookie replies only): @noble/ciphers; node:crypto has no XChaCha.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { blake2s } from '@noble/hashes/blake2.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { KEY_LEN, MAC_LEN, TAG_LEN } from './constants.js';

export type Bytes = Uint8Array;

export function hash(...parts: Bytes[]): Buffer {
  const h = createHash('blake2s256');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function hmac(key: Bytes, ...parts: Bytes[]): Buffer {
  const h = createHmac('blake2s256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Keyed BLAKE2s with a 16-byte output: mac1, mac2 and the cookie itself. */
export function mac(key: Bytes, data: Bytes): Uint8Array {
  return blake2s(data, { key, dkLen: MAC_LEN });
}

const ONE = Uint8Array.of(1);
/** HKDF over HMAC-BLAKE2s, returning `n` 32-byte outputs (KDF1/KDF2/KDF3 of the paper). */
export function kdf(n: 1 | 2 | 3, chainingKey: Bytes, input: Bytes): Buffer[] {
  const prk = hmac(chainingKey, input);
  const out: Buffer[] = [];
  let prev: Buffer = hmac(prk, ONE);
  out.push(prev);
  for (let i = 2; i <= n; i++) {
    prev = hmac(prk, prev, Uint8Array.of(i));
    out.push(prev);
  }
  return out;
}

// DER wrapper that lets OpenSSL take a raw 32-byte X25519 private key. Importing keys is the
// costly part of a handshake, not the curve math: measured here, a DER private-key import runs
// ~2.8k/s and a DER public-key import ~13.5k/s, while JWK public-key import runs ~175k/s and
// generateKeyPairSync ~28k/s. So ephemerals are generated as KeyObjects and peer keys come in
// as JWK; only the long-lived static key takes the slow path, once.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

function publicKeyObject(raw: Bytes): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

export class PrivateKey {
  readonly raw: Buffer;
  readonly publicKey: Buffer;
  private readonly keyObject: KeyObject;

  constructor(raw: Bytes);
  constructor(raw: Bytes, keyObject: KeyObject, publicKey: Buffer);
  constructor(raw: Bytes, keyObject?: KeyObject, publicKey?: Buffer) {
    if (raw.length !== KEY_LEN) throw new Error(`a private key is ${KEY_LEN} bytes, got ${raw.length}`);
    this.raw = clamp(Buffer.from(raw));
    if (keyObject && publicKey) {
      this.keyObject = keyObject;
      this.publicKey = publicKey;
      return;
    }
    this.keyObject = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, this.raw]), format: 'der', type: 'pkcs8' });
    const jwk = createPublicKey(this.keyObject).export({ format: 'jwk' });
    this.publicKey = Buffer.from(jwk.x!, 'base64url');
  }

  /** A fresh key (every handshake makes one): generated inside OpenSSL, no import needed. */
  static generate(): PrivateKey {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    const d = privateKey.export({ format: 'jwk' }).d!;
    const x = publicKey.export({ format: 'jwk' }).x!;
    return new PrivateKey(Buffer.from(d, 'base64url'), privateKey, Buffer.from(x, 'base64url'));
  }

  /** X25519; undefined when the result is all zeros (a low-order public key), which must abort the handshake. */
  dh(publicKey: Bytes): Buffer | undefined {
    if (publicKey.length !== KEY_LEN) return undefined;
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey: this.keyObject, publicKey: publicKeyObject(publicKey) });
    } catch {
      return undefined; // OpenSSL refuses low-order points itself
    }
    return isZero(shared) ? undefined : shared;
  }
}

/** Curve25519 clamping, as `wg genkey` applies it. */
export function clamp(k: Buffer): Buffer {
  k[0]! &= 248;
  k[31] = (k[31]! & 127) | 64;
  return k;
}

export function isZero(b: Bytes): boolean {
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i]!;
  return acc === 0;
}

/** Constant-time comparison of equal-length byte strings. */
export function equalBytes(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false;
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]! ^ b[i]!;
  return acc === 0;
}

/** The 96-bit ChaCha20-Poly1305 nonce: 32 zero bits then the 64-bit little-endian counter. */
export function writeNonce(nonce: Buffer, counter: number): Buffer {
  nonce.writeUInt32LE(0, 0);
  nonce.writeUInt32LE(counter >>> 0, 4);
  nonce.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 8);
  return nonce;
}

/** Encrypts `plaintext` into `out` at `offset`, tag appended; returns bytes written. */
export function seal(key: KeyObject | Bytes, counter: number, plaintext: Bytes, aad: Bytes | undefined, out: Buffer, offset: number): number {
  const nonce = writeNonce(Buffer.allocUnsafe(12), counter);
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN });
  if (aad) c.setAAD(aad, { plaintextLength: plaintext.length });
  let n = 0;
  if (plaintext.length > 0) n += c.update(plaintext).copy(out, offset);
  n += c.final().copy(out, offset + n);
  n += c.getAuthTag().copy(out, offset + n);
  return n;
}

/**
 * Decrypts `ciphertext` (tag included); undefined when authentication fails. `nonceBuffer` lets
 * the transport path reuse one 12-byte buffer instead of allocating per packet.
 */
export function open(
  key: KeyObject | Bytes,
  counter: number,
  ciphertext: Bytes,
  aad: Bytes | undefined,
  nonceBuffer: Buffer = Buffer.allocUnsafe(12),
): Buffer | undefined {
  if (ciphertext.length < TAG_LEN) return undefined;
  const nonce = writeNonce(nonceBuffer, counter);
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN });
  d.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_LEN));
  if (aad) d.setAAD(aad, { plaintextLength: ciphertext.length - TAG_LEN });
  const body = ciphertext.subarray(0, ciphertext.length - TAG_LEN);
  try {
    const p = body.length > 0 ? d.update(body) : Buffer.alloc(0);
    d.final();
    return p;
  } catch {
    return undefined;
  }
}

/** Handshake AEAD: a fresh key per use with counter 0, AAD = the running hash. */
export function sealHandshake(key: Bytes, plaintext: Bytes, aad: Bytes): Buffer {
  const out = Buffer.allocUnsafe(plaintext.length + TAG_LEN);
  seal(key, 0, plaintext, aad, out, 0);
  return out;
}

export function xseal(key: Bytes, nonce: Bytes, plaintext: Bytes, aad: Bytes): Uint8Array {
  return xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
}

export function xopen(key: Bytes, nonce: Bytes, ciphertext: Bytes, aad: Bytes): Uint8Array | undefined {
  try {
    return xchacha20poly1305(key, nonce, aad).decrypt(ciphertext);
  } catch {
    return undefined;
  }
}
