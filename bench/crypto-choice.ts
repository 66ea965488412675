// The measurements behind the engine's choice of crypto library per job (README, Design notes):
// node:crypto (OpenSSL) against @noble for ChaCha20-Poly1305 and X25519 on this machine.
import { createCipheriv, diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';

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
    'chacha20poly1305 1420 B, @noble/ciphers (packets/s)': perSecond(seconds, () => void chacha20poly1305(key, nonce).encrypt(packet)),
    'x25519, node:crypto (ops/s)': perSecond(seconds, () => void diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey })),
    'x25519, @noble/curves (ops/s)': perSecond(seconds, () => void x25519.getSharedSecret(na, nb)),
  };
}
