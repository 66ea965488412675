// The measurements behind the engine's choice of crypto library per job (README, Design notes):
// node:crypto (OpenSSL) against @noble for ChaCha20-Poly1305 and X25519 on this machine, and the
// transport AEAD of our addon (the same OpenSSL, one context per key) per packet and per batch.
import { createCipheriv, diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { aeadImplementation, sealBatch, transportKey } from '../agent/wireguard/aead.js';

/** Packets per batch in the batch row: a typical TUN wake-up's worth. */
const BATCH = 64;

function perSecond(seconds: number, body: () => void): number {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    body();
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

export function cryptoChoice(seconds = 1): Record<string, number> {
  const key = randomBytes(32);
  const nonce = Buffer.alloc(12);
  const packet = randomBytes(1420);
  const a = generateKeyPairSync('x25519');
  const b = generateKeyPairSync('x25519');
  const na = x25519.utils.randomSecretKey();
  const nb = x25519.getPublicKey(x25519.utils.randomSecretKey());
  return {
    'chacha20poly1305 1420 B, node:crypto (packets/s)': perSecond(seconds, () => {
      const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      c.update(packet);
      c.final();
      c.getAuthTag();
    }),
    ...nativeRows(seconds, key, packet),
    'chacha20poly1305 1420 B, @noble/ciphers (packets/s)': perSecond(seconds, () => void chacha20poly1305(key, nonce).encrypt(packet)),
    'x25519, node:crypto (ops/s)': perSecond(seconds, () => void diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey })),
    'x25519, @noble/curves (ops/s)': perSecond(seconds, () => void x25519.getSharedSecret(na, nb)),
  };
}

/** The addon's AEAD, when it loads: a reused context per packet, and BATCH packets per call. */
function nativeRows(seconds: number, key: Buffer, packet: Buffer): Record<string, number> {
  if (aeadImplementation() !== 'native') return {};
  const k = transportKey(key, true, 'native');
  const out = Buffer.alloc(packet.length + 4 + 16);
  const dst = Array.from({ length: BATCH }, () => Buffer.alloc(out.length));
  const batch = { keys: new Array(BATCH).fill(k), counters: new Float64Array(BATCH), src: new Array(BATCH).fill(packet), dst };
  let c = 0;
  return {
    'chacha20poly1305 1420 B, native context (packets/s)': perSecond(seconds, () => k.seal(c++, packet, out)),
    [`chacha20poly1305 1420 B, native batch of ${BATCH} (packets/s)`]: BATCH * perSecond(seconds, () => sealBatch(batch)),
  };
}
