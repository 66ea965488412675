// Property tests of disco probes: encodings open to what was sent, any flipped bit or another key
// is refused, and hostile datagrams never make the classifier or the decoders throw.
import t from 'tap';
import fc from 'fast-check';
import { checkProperty } from '../../fuzz/check.js';
import { hostileBytes } from '../../fuzz/mutate.js';
import { makeEndpoint } from '../../shared/net/address.js';
import { formatIp } from '../../shared/net/ip-bytes.js';
import { DISCO_PING, DISCO_PONG, peekDisco } from '../../shared/wire/disco.js';
import { classifyDatagram, encodePing, encodePong, openDisco } from '../join/paths/direct/disco.js';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b));
const side = fc.constantFrom<0 | 1>(0, 1);
const observed = fc
  .tuple(fc.oneof(bytes(4), bytes(16)), fc.integer({ min: 1, max: 65535 }))
  .map(([ip, port]) => makeEndpoint(formatIp(ip), port));
const probe = fc.record({ key: bytes(32), side, pairId: bytes(8), txid: bytes(12), pong: fc.option(observed, { nil: undefined }) });
type Probe = typeof probe extends fc.Arbitrary<infer P> ? P : never;
const encode = (p: Probe) => (p.pong ? encodePong(p.key, p.side, p.pairId, p.txid, p.pong) : encodePing(p.key, p.side, p.pairId, p.txid));
const seeds = fc.sample(probe, { numRuns: 6, seed: 5 }).map(encode);

t.test('encode then open gives the probe back', async (t) => {
  checkProperty(
    t,
    'ping and pong round trip',
    fc.property(probe, (p) => {
      const d = encode(p);
      const o = openDisco(p.key, d);
      if (!o || classifyDatagram(d) !== 'disco' || o.type !== (p.pong ? DISCO_PONG : DISCO_PING)) return false;
      if (o.side !== p.side || !o.pairId.equals(p.pairId) || !o.txid.equals(p.txid)) return false;
      if (!p.pong) return !('observed' in o);
      return 'observed' in o && o.observed.address === p.pong.address && o.observed.port === p.pong.port;
    }),
    { numRuns: 400 },
  );
});

t.test('tampering and other keys are refused', async (t) => {
  checkProperty(
    t,
    'one flipped bit anywhere',
    fc.property(probe, fc.nat(), fc.nat({ max: 7 }), (p, at, bit) => {
      const d = encode(p);
      d[at % d.length]! ^= 1 << bit;
      return openDisco(p.key, d) === undefined;
    }),
    { numRuns: 400 },
  );
  checkProperty(
    t,
    'another key',
    fc.property(probe, bytes(32), (p, other) => other.equals(p.key) || openDisco(other, encode(p)) === undefined),
    { numRuns: 200 },
  );
});

t.test('hostile datagrams never throw', async (t) => {
  checkProperty(
    t,
    'classify, peek and open',
    fc.property(hostileBytes(seeds, 100), bytes(32), (d, key) => {
      classifyDatagram(d);
      const h = peekDisco(d);
      const o = openDisco(key, d);
      return o === undefined || h !== undefined;
    }),
    { numRuns: 2000 },
  );
});
