// Bounce bind auth: an HMAC with the pair's relay key over the member id and the time. Only the
// right key, the right id and an untouched token within ±BOUNCE_AUTH_WINDOW_MS verify.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { bounceBindAuth, BOUNCE_AUTH_BYTES, BOUNCE_AUTH_WINDOW_MS, checkBounceBindAuth } from '../join/roles/bounce-auth.js';
import { MAX_RELAY_AUTH_BYTES } from '../../shared/wire/relay.js';

const key = randomBytes(32);
const id = 'member-A_1';
const now = Date.UTC(2026, 0, 1, 12);

t.test('a fresh auth verifies; it fits the relay wire format', async (t) => {
  const auth = bounceBindAuth(key, id, now);
  t.equal(auth.length, BOUNCE_AUTH_BYTES);
  t.equal(BOUNCE_AUTH_BYTES, 40);
  t.ok(BOUNCE_AUTH_BYTES <= MAX_RELAY_AUTH_BYTES, 'fits in a BIND');
  t.equal(Number(auth.readBigUInt64BE(0)), now, 'carries the time in clear');
  t.equal(checkBounceBindAuth(key, id, auth, now), true);
  t.equal(checkBounceBindAuth(Uint8Array.from(key), id, auth, now), true, 'a Uint8Array key works alike');
  t.equal(checkBounceBindAuth(key, id, bounceBindAuth(key, id, now + 0.7), now), true, 'fractional ms are floored');
});

t.test('wrong key or wrong id fails', async (t) => {
  const auth = bounceBindAuth(key, id, now);
  t.equal(checkBounceBindAuth(randomBytes(32), id, auth, now), false, 'another key');
  const flipped = Buffer.from(key);
  flipped[31]! ^= 1;
  t.equal(checkBounceBindAuth(flipped, id, auth, now), false, 'a key one bit off');
  t.equal(checkBounceBindAuth(key, 'member-B_1', auth, now), false, 'another id');
  t.equal(checkBounceBindAuth(key, `${id}x`, auth, now), false, 'a longer id');
  t.equal(checkBounceBindAuth(key, id.slice(0, -1), auth, now), false, 'a shorter id');
});

t.test('any tampered byte fails, time included', async (t) => {
  const auth = bounceBindAuth(key, id, now);
  let refused = 0;
  for (let i = 0; i < auth.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = Buffer.from(auth);
      bad[i]! ^= bit;
      if (!checkBounceBindAuth(key, id, bad, now)) refused++;
    }
  }
  t.equal(refused, auth.length * 2);
  // The time is covered by the tag: moving it by 1 ms keeps it in the window but breaks the tag.
  const moved = Buffer.from(auth);
  moved.writeBigUInt64BE(BigInt(now + 1), 0);
  t.equal(checkBounceBindAuth(key, id, moved, now), false, 'a re-dated token');
});

t.test('wrong length fails', async (t) => {
  const auth = bounceBindAuth(key, id, now);
  t.equal(checkBounceBindAuth(key, id, auth.subarray(0, auth.length - 1), now), false, 'truncated');
  t.equal(checkBounceBindAuth(key, id, Buffer.concat([auth, Buffer.alloc(1)]), now), false, 'extended');
  t.equal(checkBounceBindAuth(key, id, Buffer.alloc(0), now), false, 'empty');
  t.equal(checkBounceBindAuth(key, id, auth.subarray(8), now), false, 'tag only');
});

t.test('the time window: inside passes, outside fails, both ways', async (t) => {
  const W = BOUNCE_AUTH_WINDOW_MS;
  t.equal(W, 120_000);
  const at = (issued: number) => checkBounceBindAuth(key, id, bounceBindAuth(key, id, issued), now);
  t.equal(at(now - W), true, 'exactly W old');
  t.equal(at(now + W), true, 'exactly W ahead');
  t.equal(at(now - W + 1), true);
  t.equal(at(now + W - 1), true);
  t.equal(at(now - W - 1), false, '1 ms too old');
  t.equal(at(now + W + 1), false, '1 ms too far ahead');
  t.equal(at(now - 10 * W), false, 'long replayed');
  t.equal(at(0), false, 'the epoch');
  // The same token ages out as the bounce's clock moves on.
  const auth = bounceBindAuth(key, id, now);
  t.equal(checkBounceBindAuth(key, id, auth, now + W), true);
  t.equal(checkBounceBindAuth(key, id, auth, now + W + 1), false);
});
