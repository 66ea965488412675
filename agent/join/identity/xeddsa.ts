// XEdDSA (Signal's specification): Ed25519-compatible signatures made with an X25519 key pair, so
// a member can sign its announcements with the very key WireGuard knows it by, and anyone can
// check them against that public key. Signing maps the Montgomery private scalar to the Edwards
// key whose sign bit is zero; verifying maps the Montgomery u coordinate to that Edwards point and
// runs standard Ed25519 verification.
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';

const Point = ed25519.Point;
const Q = Point.Fn.ORDER;
const P = Point.Fp.ORDER;
const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;

function fromLe(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

function toLe(n: bigint, length = 32): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
}

function powMod(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  for (b = mod(b, m); e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

/** Signs `message` with an X25519 private key (32 bytes, as WireGuard stores it). */
export function xeddsaSign(privateKey: Uint8Array, message: Uint8Array, random: Uint8Array = randomBytes(64)): Buffer {
  if (privateKey.length !== 32 || random.length !== 64) throw new RangeError('xeddsa: bad key or nonce length');
  const clamped = Uint8Array.from(privateKey);
  clamped[0]! &= 248;
  clamped[31]! &= 127;
  clamped[31]! |= 64;
  const k = mod(fromLe(clamped), Q);
  const e = Point.BASE.multiply(k).toBytes();
  // The public Edwards key has sign bit 0: negate the scalar when k·B has it set.
  const a = e[31]! & 0x80 ? mod(-k, Q) : k;
  const publicEd = Uint8Array.from(e);
  publicEd[31]! &= 0x7f;
  const prefix = new Uint8Array(32).fill(0xff);
  prefix[0] = 0xfe;
  // r = 0 has probability 2^-252; the point multiplication refuses it, so it becomes 1.
  const r = mod(fromLe(sha512(prefix, toLe(a), message, random)), Q) || 1n;
  const R = Point.BASE.multiply(r).toBytes();
  const h = mod(fromLe(sha512(R, publicEd, message)), Q);
  const s = mod(r + h * a, Q);
  return Buffer.concat([R, toLe(s)]);
}

/**
 * Checks an XEdDSA signature against an X25519 public key; never throws. The Ed25519 check itself
 * runs in OpenSSL (strict RFC 8032): ~40x faster than @noble's, and with no first-use cost.
 */
export function xeddsaVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const u = fromLe(publicKey) & ((1n << 255n) - 1n);
  if (u >= P || mod(u + 1n, P) === 0n) return false;
  const y = mod((u - 1n) * powMod(u + 1n, P - 2n, P), P); // the birational map, Montgomery u → Edwards y
  const publicEd = toLe(y);
  publicEd[31]! &= 0x7f;
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicEd).toString('base64url') }, format: 'jwk' });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Signs once with a throwaway key: @noble's first point multiplication costs ~50 ms of set-up. */
export function warmUpSignatures(): void {
  xeddsaSign(randomBytes(32), Buffer.alloc(0));
}
