// Property tests of the relay wire format: decoders never throw on hostile bytes, every encoding
// decodes to what was encoded, and whatever decodes re-encodes to the same bytes.
import t from 'tap';
import fc from 'fast-check';
import { checkProperty } from '../../fuzz/check.js';
import { hostileBytes } from '../../fuzz/mutate.js';
import {
  RELAY_BIND,
  RELAY_BOUND,
  RELAY_CHALLENGE,
  RELAY_DATA,
  RELAY_UNREACHABLE,
  decodeRelayPacket,
  decodeWsFrame,
  encodeBind,
  encodeBound,
  encodeChallenge,
  encodeData,
  encodeUnreachable,
  encodeWsFrame,
  isRelayablePayload,
  type RelayPacket,
} from '../wire/relay.js';

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const fixed = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b));
const payload = fc.uint8Array({ minLength: 1, maxLength: 80 }).map((b) => Buffer.from(b));

const packet: fc.Arbitrary<RelayPacket> = fc.oneof(
  fc.record({ type: fc.constant(RELAY_BIND), txid: fixed(12), id, auth: fc.uint8Array({ maxLength: 96 }).map((b) => Buffer.from(b)), cookie: fixed(16) }, { requiredKeys: ['type', 'txid', 'id', 'auth'] }),
  fc.record({ type: fc.constant(RELAY_BOUND), txid: fixed(12) }),
  fc.record({ type: fc.constant(RELAY_CHALLENGE), txid: fixed(12), cookie: fixed(16) }),
  fc.record({ type: fc.constant(RELAY_DATA), id, payload }),
  fc.record({ type: fc.constant(RELAY_UNREACHABLE), id }),
);

function encode(p: RelayPacket): Buffer {
  switch (p.type) {
    case RELAY_BIND:
      return encodeBind(p.txid, p.id, p.auth, p.cookie);
    case RELAY_BOUND:
      return encodeBound(p.txid);
    case RELAY_CHALLENGE:
      return encodeChallenge(p.txid, p.cookie);
    case RELAY_DATA:
      return encodeData(p.id, p.payload);
    case RELAY_UNREACHABLE:
      return encodeUnreachable(p.id);
  }
}

const seeds = fc.sample(packet, { numRuns: 12, seed: 7 }).map(encode);
const wsSeeds = fc.sample(fc.tuple(id, payload), { numRuns: 4, seed: 7 }).map(([i, p]) => encodeWsFrame(i, p));
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

t.test('encode then decode gives the packet back', async (t) => {
  checkProperty(t, 'UDP packets', fc.property(packet, (p) => same(decodeRelayPacket(encode(p)), p)), { numRuns: 800 });
  checkProperty(t, 'WebSocket frames', fc.property(id, payload, (i, p) => same(decodeWsFrame(encodeWsFrame(i, p)), { id: i, payload: p })), { numRuns: 300 });
});

t.test('decoders never throw, and what decodes re-encodes to the same bytes', async (t) => {
  checkProperty(
    t,
    'decodeRelayPacket',
    fc.property(hostileBytes(seeds, 200), (d) => {
      const p = decodeRelayPacket(d);
      isRelayablePayload(d);
      return p === undefined || encode(p).equals(d);
    }),
    { numRuns: 3000 },
  );
  checkProperty(
    t,
    'decodeWsFrame',
    fc.property(hostileBytes(wsSeeds, 120), (d) => {
      const f = decodeWsFrame(d);
      return f === undefined || encodeWsFrame(f.id, f.payload).equals(d);
    }),
    { numRuns: 1500 },
  );
});
