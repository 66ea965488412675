// XEdDSA over X25519 keys: what a member signs with its WireGuard key verifies against that key
// alone; any other key, a changed byte of message or signature, or malformed input fails (and
// never throws).
import t from 'tap';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { xeddsaSign, xeddsaVerify } from '../join/identity/xeddsa.js';

function keyPair(): { priv: Buffer; pub: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { priv: Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'), pub: Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url') };
}

t.test('signatures verify against the X25519 public key (OpenSSL-made keys)', async (t) => {
  let good = 0;
  for (let i = 0; i < 100; i++) {
    const { priv, pub } = keyPair();
    const msg = randomBytes(1 + (i % 200));
    const sig = xeddsaSign(priv, msg);
    t.equal(sig.length, 64);
    if (xeddsaVerify(pub, msg, sig)) good++;
  }
  t.equal(good, 100, 'all 100 verify');
});

t.test('anything changed fails', async (t) => {
  const { priv, pub } = keyPair();
  const other = keyPair();
  const msg = Buffer.from('wgp2p announcement v2\0{"k":"..."}');
  const sig = xeddsaSign(priv, msg);
  t.ok(xeddsaVerify(pub, msg, sig));
  t.notOk(xeddsaVerify(other.pub, msg, sig), 'another key');
  t.notOk(xeddsaVerify(pub, Buffer.concat([msg, Buffer.from([0])]), sig), 'a longer message');
  for (const i of [0, 5, 31, 32, 40, 63]) {
    const bad = Buffer.from(sig);
    bad[i]! ^= 0x01;
    t.notOk(xeddsaVerify(pub, msg, bad), `signature byte ${i} flipped`);
  }
  const m2 = Buffer.from(msg);
  m2[3]! ^= 0x20;
  t.notOk(xeddsaVerify(pub, m2, sig), 'message byte flipped');
  t.notOk(xeddsaVerify(pub, msg, xeddsaSign(other.priv, msg)), "another key's signature");
  t.ok(xeddsaVerify(pub, msg, xeddsaSign(priv, msg, randomBytes(64))), 'a fresh nonce gives another valid signature');
  t.not(xeddsaSign(priv, msg).toString('hex'), xeddsaSign(priv, msg).toString('hex'), 'signatures are randomised');
  t.equal(xeddsaSign(priv, msg, Buffer.alloc(64, 7)).toString('hex'), xeddsaSign(priv, msg, Buffer.alloc(64, 7)).toString('hex'), 'deterministic for a given nonce');
});

t.test('malformed input is refused without throwing', async (t) => {
  const { priv, pub } = keyPair();
  const msg = Buffer.from('x');
  const sig = xeddsaSign(priv, msg);
  const p = 2n ** 255n - 19n;
  const le = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse();
  const cases: [string, Buffer, Buffer][] = [
    ['short key', pub.subarray(0, 31), sig],
    ['short signature', pub, sig.subarray(0, 63)],
    ['long signature', pub, Buffer.concat([sig, Buffer.alloc(1)])],
    ['u = p - 1 (no Edwards point)', le(p - 1n), sig],
    ['u = p (not reduced)', le(p), sig],
    ['all zero signature', pub, Buffer.alloc(64)],
    ['all 0xff signature (s out of range)', pub, Buffer.alloc(64, 0xff)],
  ];
  for (const [what, k, s] of cases) t.equal(xeddsaVerify(k, msg, s), false, what);
  let accepted = 0;
  for (let i = 0; i < 300; i++) if (xeddsaVerify(randomBytes(32), randomBytes(20), randomBytes(64))) accepted++;
  t.equal(accepted, 0, '300 random (key, message, signature) triples: none accepted, none threw');
  t.throws(() => xeddsaSign(priv.subarray(0, 31), msg), /bad key/);
});
