// Known answers for every primitive, from their RFCs and from the protocol's constants.
import t from 'tap';
import { PrivateKey, hash, hmac, kdf, mac, open, sealHandshake, xopen, xseal } from '../wireguard/crypto.js';
import { INITIAL_CHAINING_KEY, INITIAL_HASH } from '../wireguard/noise.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('BLAKE2s-256 of "abc" (RFC 7693 appendix B)', async (t) => {
  t.equal(hash(Buffer.from('abc')).toString('hex'), '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982');
});

t.test('hash over several parts equals hash over their concatenation', async (t) => {
  t.same(hash(Buffer.from('ab'), Buffer.from('c')), hash(Buffer.from('abc')));
});

t.test('keyed BLAKE2s-128 differs per key and is 16 bytes', async (t) => {
  const a = mac(Buffer.alloc(32, 1), Buffer.from('x'));
  const b = mac(Buffer.alloc(32, 2), Buffer.from('x'));
  t.equal(a.length, 16);
  t.not(Buffer.from(a).toString('hex'), Buffer.from(b).toString('hex'));
});

t.test('HKDF outputs chain: KDF2 extends KDF1, KDF3 extends KDF2', async (t) => {
  const ck = Buffer.alloc(32, 7);
  const input = Buffer.from('input');
  const [a1] = kdf(1, ck, input);
  const [b1, b2] = kdf(2, ck, input);
  const [c1, c2, c3] = kdf(3, ck, input);
  t.same(a1, b1);
  t.same(b1, c1);
  t.same(b2, c2);
  // τ1 = HMAC(prk, 0x1) by definition
  t.same(a1, hmac(hmac(ck, input), Uint8Array.of(1)));
  t.same(c3, hmac(hmac(ck, input), c2!, Uint8Array.of(3)));
});

t.test('protocol constants: initial chaining key and hash', async (t) => {
  t.same(
    [...INITIAL_CHAINING_KEY],
    [96, 226, 109, 174, 243, 39, 239, 192, 46, 195, 53, 226, 160, 37, 210, 208, 22, 235, 66, 6, 248, 114, 119, 245, 45, 56, 209, 152, 139, 120, 205, 54],
  );
  t.same([...INITIAL_HASH.subarray(0, 24)], [34, 17, 179, 97, 8, 26, 197, 102, 105, 18, 67, 219, 69, 138, 213, 50, 45, 156, 108, 102, 34, 147, 232, 183]);
});

t.test('X25519 (RFC 7748 §6.1)', async (t) => {
  const alice = new PrivateKey(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
  const bob = new PrivateKey(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
  t.equal(alice.publicKey.toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  t.equal(bob.publicKey.toString('hex'), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const shared = '4a5d9d5b a4ce2de1 728e3bf4 80350f25 e07e21c9 47d19e33 76f09b3c 1e161742'.replace(/ /g, '');
  t.equal(alice.dh(bob.publicKey)!.toString('hex'), shared);
  t.equal(bob.dh(alice.publicKey)!.toString('hex'), shared);
});

t.test('X25519 with a low-order point yields no shared secret', async (t) => {
  const k = PrivateKey.generate();
  t.equal(k.dh(Buffer.alloc(32)), undefined, 'all-zero public key');
  t.equal(k.dh(hex('0100000000000000000000000000000000000000000000000000000000000000')), undefined, 'point of order 1');
});

t.test('ChaCha20-Poly1305 (RFC 8439 §2.8.2)', async (t) => {
  const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const aad = hex('50515253c0c1c2c3c4c5c6c7');
  const pt = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  // The RFC's nonce is 07000000 40414243 44454647; ours is 0^32 ‖ LE64(counter), so reproduce it directly.
  const { createCipheriv } = await import('node:crypto');
  const c = createCipheriv('chacha20-poly1305', key, hex('070000004041424344454647'), { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: pt.length });
  const ct = Buffer.concat([c.update(pt), c.final()]);
  t.equal(c.getAuthTag().toString('hex'), '1ae10b594f09e26a7e902ecbd0600691');
  t.equal(ct.subarray(0, 16).toString('hex'), 'd31a8d34648e60db7b86afbc53ef7ec2');
});

t.test('handshake AEAD round trip, tamper detection', async (t) => {
  const key = Buffer.alloc(32, 9);
  const aad = Buffer.from('transcript');
  const sealed = sealHandshake(key, Buffer.from('secret'), aad);
  t.equal(open(key, 0, sealed, aad)?.toString(), 'secret');
  sealed[0]! ^= 1;
  t.equal(open(key, 0, sealed, aad), undefined);
  t.equal(open(key, 0, Buffer.alloc(5), aad), undefined, 'shorter than a tag');
});

t.test('XChaCha20-Poly1305 round trip (cookie replies)', async (t) => {
  const key = Buffer.alloc(32, 3);
  const nonce = Buffer.alloc(24, 4);
  const ct = xseal(key, nonce, Buffer.alloc(16, 5), Buffer.from('mac1'));
  t.equal(ct.length, 32);
  t.same(Buffer.from(xopen(key, nonce, ct, Buffer.from('mac1'))!), Buffer.alloc(16, 5));
  t.equal(xopen(key, nonce, ct, Buffer.from('other')), undefined);
});
