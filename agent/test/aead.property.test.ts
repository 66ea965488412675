// The transport AEAD: the native implementation (one OpenSSL context per key) against
// node:crypto and against @noble/ciphers (independent pure-JS code), byte for byte, for random
// keys, counters and lengths up to 65535; tampering, short inputs and destroyed keys fail
// without throwing; a batch may mix keys and keeps every item's own result.
import t from 'tap';
import fc from 'fast-check';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { checkProperty } from '../../fuzz/check.js';
import { NO_NATIVE_AEAD_ENV, aeadImplementation, openBatch, sealBatch, transportKey, type TransportAead } from '../wireguard/aead.js';
import { TAG_LEN } from '../wireguard/constants.js';
import { Keypair, paddedLength } from '../wireguard/keypair.js';

const HAVE_NATIVE = aeadImplementation() === 'native';
const IMPLS = HAVE_NATIVE ? (['native', 'node:crypto'] as const) : (['node:crypto'] as const);
const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

if (process.env[NO_NATIVE_AEAD_ENV] === '1') t.comment(`${NO_NATIVE_AEAD_ENV}=1: node:crypto is tested alone`);
else if (!HAVE_NATIVE) t.fail('the native AEAD did not load: run npm run build:native');

function nonce(counter: number): Uint8Array {
  const n = Buffer.alloc(12);
  n.writeBigUInt64LE(BigInt(counter), 4);
  return n;
}

/** What WireGuard sends: the packet, zero-padded to `padded`, sealed; from @noble. */
function reference(key: Uint8Array, counter: number, packet: Uint8Array, padded: number): Buffer {
  const plain = Buffer.alloc(padded);
  plain.set(packet);
  return Buffer.from(chacha20poly1305(key, nonce(counter)).encrypt(plain));
}

const counter = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: MAX_COUNTER }), fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, MAX_COUNTER));
const length = fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 1, 15, 16, 17, 1419, 1420, 65535));
const item = fc.record({
  key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  counter,
  packet: length.chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
  pad: fc.integer({ min: 0, max: 15 }),
});

t.test('seal gives the reference bytes and open gives the padded packet back, in both implementations', async (t) => {
  checkProperty(
    t,
    'native = node:crypto = @noble',
    fc.property(item, ({ key, counter, packet, pad }) => {
      const padded = Math.min(packet.length + pad, 65535);
      const want = reference(key, counter, packet, Math.max(padded, packet.length));
      for (const impl of IMPLS) {
        const sealer = transportKey(key, true, impl);
        const sealed = Buffer.alloc(want.length);
        sealer.seal(counter, packet, sealed);
        if (!sealed.equals(want)) return false;
        for (const opener of IMPLS.map((i) => transportKey(key, false, i))) {
          const plain = Buffer.alloc(want.length - TAG_LEN, 0xee);
          if (!opener.open(counter, sealed, plain)) return false;
          if (!plain.subarray(0, packet.length).equals(packet) || plain.subarray(packet.length).some((b) => b !== 0)) return false;
        }
      }
      return true;
    }),
    { numRuns: 150 },
  );
});

t.test('any change to the message, the counter or the key fails to open, without throwing', async (t) => {
  checkProperty(
    t,
    'tampering is refused',
    fc.property(item, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom('byte', 'counter', 'key', 'truncate'), ({ key, counter, packet }, at, flip, what) => {
      const sealed = reference(key, counter, packet, packet.length);
      let c = counter;
      let k = key;
      let msg = sealed;
      if (what === 'byte') msg[at % msg.length]! ^= flip;
      if (what === 'counter') c = counter === MAX_COUNTER ? counter - 1 : counter + 1;
      if (what === 'key') (k = Uint8Array.from(key))[at % 32]! ^= flip;
      if (what === 'truncate') msg = msg.subarray(0, at % msg.length);
      for (const impl of IMPLS) {
        const plain = Buffer.alloc(Math.max(0, msg.length - TAG_LEN), 0xee);
        if (transportKey(k, false, impl).open(c, msg, plain)) return false;
        if (impl === 'native' && plain.some((b) => b !== 0)) return false; // no unauthenticated plaintext left behind
      }
      return true;
    }),
    { numRuns: 200 },
  );
});

t.test('inputs shorter than a tag, wrong output sizes, wrong direction and destroyed keys fail', async (t) => {
  const key = Buffer.alloc(32, 3);
  for (const impl of IMPLS) {
    const opener = transportKey(key, false, impl);
    for (let n = 0; n < TAG_LEN; n++) t.equal(opener.open(0, Buffer.alloc(n), Buffer.alloc(0)), false, `${impl}: ${n} bytes`);
    const sealed = reference(key, 7, Buffer.from('hello'), 16);
    t.equal(opener.open(7, sealed, Buffer.alloc(15)), false, `${impl}: output too short`);
    t.equal(opener.open(7, sealed, Buffer.alloc(16)), true, `${impl}: opens`);
    opener.destroy();
    t.equal(opener.open(7, sealed, Buffer.alloc(16)), false, `${impl}: destroyed key`);
    opener.destroy();
    const sealer = transportKey(key, true, impl);
    sealer.destroy();
    t.throws(() => sealer.seal(1, Buffer.alloc(1), Buffer.alloc(17)), `${impl}: sealing with a destroyed key is a bug, reported`);
  }
  if (!HAVE_NATIVE) return;
  t.equal(transportKey(key, true, 'native').open(7, reference(key, 7, Buffer.from('x'), 1), Buffer.alloc(1)), false, 'a sealing key does not open');
  t.throws(() => transportKey(Buffer.alloc(31), true, 'native'), 'a 31-byte key is refused');
});

t.test('a batch with mixed keys seals and opens each item with its own key, in order', async (t) => {
  checkProperty(
    t,
    'batches match item-by-item reference results',
    fc.property(fc.array(fc.record({ item, tamper: fc.boolean(), which: fc.nat() }), { minLength: 1, maxLength: 24 }), fc.constantFrom<(typeof IMPLS)[number]>(...IMPLS), (items, impl) => {
      const keys = items.map((x) => x.item.key);
      const sealers = keys.map((k) => transportKey(k, true, impl));
      const openers = keys.map((k) => transportKey(k, false, impl));
      const counters = Float64Array.from(items.map((x) => x.item.counter));
      const src = items.map((x) => x.item.packet);
      const dst = items.map((x) => Buffer.alloc(x.item.packet.length + TAG_LEN));
      sealBatch({ keys: sealers, counters, src, dst });
      if (!dst.every((d, i) => d.equals(reference(keys[i]!, counters[i]!, src[i]!, src[i]!.length)))) return false;
      // Open with a shuffled choice of keys: an item opens only under its own key and counter.
      const chosen: TransportAead[] = items.map((x, i) => (x.tamper ? openers[x.which % openers.length]! : openers[i]!));
      const plains = items.map((x) => Buffer.alloc(x.item.packet.length));
      const ok = openBatch({ keys: chosen, counters, src: dst, dst: plains });
      return items.every((x, i) => {
        const own = chosen[i] === openers[i] || Buffer.compare(keys[x.which % keys.length]!, keys[i]!) === 0;
        return own ? ok[i] === 1 && plains[i]!.equals(src[i]!) : ok[i] === 0;
      });
    }),
    { numRuns: 100 },
  );
});

t.test("a keypair's batch equals its packets sealed one by one, and a wiped keypair opens nothing", async (t) => {
  const keys = () => ({ send: Buffer.alloc(32, 1), receive: Buffer.alloc(32, 2) });
  const packets = [0, 1, 17, 1420, 9000].map((n) => Buffer.alloc(n, n & 0xff));
  const pad = (n: number) => paddedLength(n, 1420);
  for (const impl of IMPLS) {
    const a = new Keypair(keys(), true, 1, 2, 0, impl);
    const b = new Keypair(keys(), true, 1, 2, 0, impl);
    const rx = new Keypair({ send: Buffer.alloc(32, 2), receive: Buffer.alloc(32, 1) }, false, 2, 1, 0, impl);
    t.same(a.sealAll([], pad), [], `${impl}: an empty batch is nothing to do`);
    const batch = a.sealAll(packets, pad);
    packets.forEach((p, i) => {
      t.same(batch[i], b.seal(p, pad(p.length)), `${impl}, packet ${i}: same message`);
      t.same(rx.open(batch[i]!, i)?.subarray(0, p.length), p, `${impl}, packet ${i}: opens under counter ${i}`);
    });
    t.equal(a.sendCounter, packets.length, `${impl}: one counter per packet`);
    rx.wipe();
    t.equal(rx.open(batch[0]!, 0), undefined, `${impl}: nothing opens once wiped`);
  }
});
