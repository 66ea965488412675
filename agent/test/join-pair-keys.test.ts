// Pair keys: both members derive the same preshared key and disco key; every pair and room gets
// its own; the sides are complementary so a member can tell its own probes from its peer's.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { deriveRoom } from '../../shared/signal/room-key.js';
import { derivePairKeys, pairPresharedKey } from '../join/room/pair-keys.js';

const room = { roomId: '00'.repeat(32), key: new Uint8Array(randomBytes(32)) };

t.test('order-independent: both ends compute the same pair keys', async (t) => {
  const a = randomBytes(32);
  const b = randomBytes(32);
  const ab = derivePairKeys(room.key, a, b);
  const ba = derivePairKeys(room.key, b, a);
  t.ok(ab.presharedKey.equals(ba.presharedKey), 'same preshared key');
  t.ok(ab.discoKey.equals(ba.discoKey), 'same disco key');
  t.ok(ab.pairId.equals(ba.pairId), 'same pair id');
  t.equal(ab.presharedKey.length, 32);
  t.equal(ab.pairId.length, 8);
  t.equal(ab.side + ba.side, 1, 'complementary sides');
  t.ok(pairPresharedKey(room.key, a, b).equals(ab.presharedKey));
  t.notOk(ab.discoKey.equals(ab.presharedKey), 'the disco key is not the WireGuard key');
});

t.test('another pair, another room or another secret gives unrelated keys', async (t) => {
  const [a, b, c] = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const base = derivePairKeys(room.key, a, b);
  t.notOk(derivePairKeys(room.key, a, c).presharedKey.equals(base.presharedKey), 'another peer');
  t.notOk(derivePairKeys(randomBytes(32), a, b).presharedKey.equals(base.presharedKey), 'another room key');
  const r1 = deriveRoom('office', 'secret-one-secret-one');
  const r2 = deriveRoom('office', 'secret-two-secret-two');
  t.notOk(pairPresharedKey(r1.key, a, b).equals(pairPresharedKey(r2.key, a, b)), 'another secret');
  t.throws(() => derivePairKeys(room.key, a, a), /two different public keys/);
});
