// The relay's DATA hot path (shared/wire/relay-data.ts): every frame it builds is byte for byte
// what encodeData builds, frames handed out are never overwritten by later ones, a forwarded
// frame is rewritten in place only where the new header fits, ids are read right across runs and
// changes, and anything malformed is refused without throwing.
import t from 'tap';
import { DATA_ARENA_BYTES, DataFramer, DataHeaders, DataIdReader, reframeInPlace } from '../wire/relay-data.js';
import { dataPayloadOffset, decodeRelayPacket, encodeBind, encodeData, encodeUnreachable, MAX_RELAY_ID_BYTES, RELAY_DATA, RELAY_MAGIC } from '../wire/relay.js';
import { seededRandom } from './fixtures/seeded-random.js';

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

function randomId(rand: () => number, len = 1 + Math.floor(rand() * MAX_RELAY_ID_BYTES)): string {
  let s = '';
  for (let i = 0; i < len; i++) s += ID_CHARS[Math.floor(rand() * ID_CHARS.length)];
  return s;
}

function randomPayload(rand: () => number, len = 1 + Math.floor(rand() * 1500)): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

t.test('dataPayloadOffset: where decodeRelayPacket finds the payload, -1 for anything else', async (t) => {
  const rand = seededRandom(1);
  for (let i = 0; i < 200; i++) {
    const id = randomId(rand);
    const payload = randomPayload(rand);
    const d = encodeData(id, payload);
    const at = dataPayloadOffset(d);
    const p = decodeRelayPacket(d);
    t.ok(p?.type === RELAY_DATA && d.subarray(at).equals(p.payload), `id of ${id.length}, payload of ${payload.length}`);
  }
  const good = encodeData('bob', Buffer.from([4, 0, 0, 0]));
  t.equal(dataPayloadOffset(good.subarray(0, good.length - 4)), -1, 'no payload');
  const zeroId = Buffer.from(good);
  zeroId[RELAY_MAGIC.length + 1] = 0;
  t.equal(dataPayloadOffset(zeroId), -1, 'id length 0');
  const longId = Buffer.concat([good, Buffer.alloc(100, 0x41)]);
  longId[RELAY_MAGIC.length + 1] = MAX_RELAY_ID_BYTES + 1;
  t.equal(dataPayloadOffset(longId), -1, 'id length above the maximum');
  const past = Buffer.from(good);
  past[RELAY_MAGIC.length + 1] = 200;
  t.equal(dataPayloadOffset(past), -1, 'id running past the end');
  t.equal(dataPayloadOffset(encodeUnreachable('bob')), -1, 'UNREACHABLE');
  t.equal(dataPayloadOffset(encodeBind(Buffer.alloc(12), 'bob', Buffer.alloc(32))), -1, 'BIND');
  t.equal(dataPayloadOffset(Buffer.from([4, 0, 0, 0, 1, 2, 3, 4])), -1, 'WireGuard');
  t.equal(dataPayloadOffset(Buffer.alloc(0)), -1, 'empty');
  for (let n = 0; n < good.length; n++) t.doesNotThrow(() => dataPayloadOffset(good.subarray(0, n)), `truncated to ${n}`);
});

t.test('DataHeaders and DataFramer build what encodeData builds', async (t) => {
  const rand = seededRandom(2);
  const headers = new DataHeaders();
  const framer = new DataFramer();
  for (let i = 0; i < 300; i++) {
    const id = randomId(rand);
    const payload = randomPayload(rand);
    if (!framer.frame(headers.get(id), payload).equals(encodeData(id, payload))) t.fail(`frame ${i}`);
  }
  t.equal(headers.get('alice'), headers.get('alice'), 'a header is built once per id');
  t.throws(() => headers.get('not an id'), /not a member id/);
  t.throws(() => headers.get(''), /not a member id/);
  const big = randomPayload(rand, DATA_ARENA_BYTES + 10);
  t.ok(framer.frame(headers.get('bob'), big).equals(encodeData('bob', big)), 'a frame larger than an arena');
});

t.test('a frame is never overwritten by later frames, across arenas', async (t) => {
  const rand = seededRandom(3);
  const headers = new DataHeaders();
  const framer = new DataFramer();
  const kept: [Buffer, Buffer][] = [];
  let bytes = 0;
  while (bytes < 3 * DATA_ARENA_BYTES) {
    const id = randomId(rand, 21);
    const payload = randomPayload(rand);
    const f = framer.frame(headers.get(id), payload);
    kept.push([f, encodeData(id, payload)]);
    bytes += f.length;
  }
  t.ok(kept.every(([f, want]) => f.equals(want)), `${kept.length} frames in ${Math.ceil(bytes / DATA_ARENA_BYTES)} arenas still intact`);
});

t.test('reframeInPlace: the forwarded frame in the received bytes where the header fits', async (t) => {
  const headers = new DataHeaders();
  const payload = Buffer.from([4, 0, 0, 0, 9, 8, 7, 6, 5]);
  for (const [to, from] of [
    ['bobby', 'alice'],
    ['carol-long-id', 'bob'],
  ]) {
    const d = encodeData(to!, payload);
    const out = reframeInPlace(d, dataPayloadOffset(d), headers.get(from!));
    t.ok(out?.equals(encodeData(from!, payload)), `${to} -> from ${from}`);
    t.equal(out!.buffer, d.buffer, 'the same memory');
    t.equal(out!.byteOffset + out!.length, d.byteOffset + d.length, 'ending where the datagram ends');
  }
  const d = encodeData('bob', payload);
  const copy = Buffer.from(d);
  t.equal(reframeInPlace(d, dataPayloadOffset(d), headers.get('alice')), undefined, 'a longer header does not fit');
  t.ok(d.equals(copy), 'and the datagram is left as it was');
});

t.test('DataIdReader: ids right across runs, changes and junk', async (t) => {
  const reader = new DataIdReader();
  const read = (d: Buffer) => reader.read(d, dataPayloadOffset(d));
  const p = Buffer.from([4, 0, 0, 0]);
  const seq = ['aaaa', 'aaaa', 'aaab', 'bbbb', 'bbbb', 'a', 'aaaa'];
  t.same(
    seq.map((id) => read(encodeData(id, p))),
    seq,
    'repeated, changed in one byte, in length',
  );
  const bad = encodeData('aaaa', p);
  bad[bad.length - p.length - 1] = 0x20; // "aaa " is no member id
  t.equal(read(bad), undefined, 'an invalid id');
  t.equal(read(bad), undefined, 'also the second time');
  t.equal(read(encodeData('aaaa', p)), 'aaaa', 'the valid id after it');
  const rand = seededRandom(4);
  for (let i = 0; i < 200; i++) {
    const id = randomId(rand, 1 + Math.floor(rand() * 3));
    if (read(encodeData(id, p)) !== id) t.fail(`id ${id}`);
  }
});
