// Pair keys: both members derive the same keys; every pair and room gets its own; the sides are
// complementary so a member can tell its own probes from its peer's; and a third member who holds
// the room key (an insider) cannot compute another pair's keys.
import t from 'tap';
import { hkdfSync, randomBytes } from 'node:crypto';
import { deriveRoom } from '../../shared/signal/room-key.js';
import { derivePairKeys } from '../join/room/pair-keys.js';
import { PrivateKey } from '../wireguard/crypto.js';

const room = { roomId: '00'.repeat(32), key: new Uint8Array(randomBytes(32)) };

t.test('order-independent: both ends compute the same pair keys', async (t) => {
  const a = PrivateKey.generate();
  const b = PrivateKey.generate();
  const ab = derivePairKeys(room.key, a, b.publicKey);
  const ba = derivePairKeys(room.key, b, a.publicKey);
  t.ok(ab.presharedKey.equals(ba.presharedKey), 'same preshared key');
  t.ok(ab.discoKey.equals(ba.discoKey), 'same disco key');
  t.ok(ab.relayKey.equals(ba.relayKey), 'same relay key');
  t.ok(ab.pairId.equals(ba.pairId), 'same pair id');
  t.equal(ab.presharedKey.length, 32);
  t.equal(ab.pairId.length, 8);
  t.equal(ab.side + ba.side, 1, 'complementary sides');
  t.notOk(ab.discoKey.equals(ab.presharedKey), 'the disco key is not the WireGuard key');
});

t.test('another pair, another room or another secret gives unrelated keys', async (t) => {
  const [a, b, c] = [PrivateKey.generate(), PrivateKey.generate(), PrivateKey.generate()];
  const base = derivePairKeys(room.key, a, b.publicKey);
  t.notOk(derivePairKeys(room.key, a, c.publicKey).presharedKey.equals(base.presharedKey), 'another peer');
  t.notOk(derivePairKeys(randomBytes(32), a, b.publicKey).presharedKey.equals(base.presharedKey), 'another room key');
  const r1 = deriveRoom('office', 'secret-one-secret-one');
  const r2 = deriveRoom('office', 'secret-two-secret-two');
  t.notOk(derivePairKeys(r1.key, a, b.publicKey).presharedKey.equals(derivePairKeys(r2.key, a, b.publicKey).presharedKey), 'another secret');
  t.throws(() => derivePairKeys(room.key, a, a.publicKey), /two different public keys/);
  t.throws(() => derivePairKeys(room.key, a, Buffer.alloc(32)), /usable public key/, 'a low-order key is refused');
});

t.test('an insider with the room key cannot derive another pair\'s keys', async (t) => {
  const [a, b, x] = [PrivateKey.generate(), PrivateKey.generate(), PrivateKey.generate()];
  const ab = derivePairKeys(room.key, a, b.publicKey);
  const [lo, hi] = Buffer.compare(a.publicKey, b.publicKey) < 0 ? [a.publicKey, b.publicKey] : [b.publicKey, a.publicKey];
  const salt = Buffer.concat([lo, hi]);
  // What the insider can compute: anything from the room key and the public keys, and its own DH results.
  const guesses = [room.key, Buffer.concat([room.key, x.dh(a.publicKey)!]), Buffer.concat([room.key, x.dh(b.publicKey)!])];
  for (const ikm of guesses) for (const v of ['v1', 'v2']) t.notOk(Buffer.from(hkdfSync('sha256', ikm, salt, `wgp2p pair psk ${v}`, 32)).equals(ab.presharedKey), `guess ${v}`);
  t.notOk(derivePairKeys(room.key, x, a.publicKey).discoKey.equals(ab.discoKey), 'its own pair with a is another key');
});
