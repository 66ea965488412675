// Joining the packets of one TCP flow into one large TUN write (GRO-style), and the round trip
// with segmentation as a property: whatever the kernel hands us as a large segment, cut and then
// joined again, is the same segment.
import fc from 'fast-check';
import t from 'tap';
import { coalesce, type TunWrite } from '../tun/offload/coalesce.js';
import { segmentRead } from '../tun/offload/segment.js';
import { VIRTIO_NET_HDR_LEN, decodeVirtioNetHdr } from '../tun/offload/virtio-net-hdr.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, checkPacket, kernelGsoRead, l4Packet, type L4Spec } from './fixtures/l4-packets.js';

const bytes = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff));

/** A flow's consecutive segments of `sizes` bytes from `seq`. */
function flow(sizes: number[], base: Partial<L4Spec> & { version: 4 | 6 }, seq = 5000): Buffer[] {
  let s = seq;
  return sizes.map((n, i) => {
    const p = l4Packet({ protocol: 'tcp', payload: bytes(n, i), seq: s, id: 100 + i, ...base });
    s += n;
    return p;
  });
}

/** What the kernel would see: a joined write undone into its IP packet and the GSO size. */
function unwrap(w: TunWrite): { packet: Buffer; gsoSize: number } {
  if (!w.hasHeader) return { packet: w.data, gsoSize: 0 };
  const h = decodeVirtioNetHdr(w.data)!;
  return { packet: w.data.subarray(VIRTIO_NET_HDR_LEN), gsoSize: h.gsoSize };
}

/** The segments the kernel would make of a joined write (our own segmenter stands in for it). */
function resegment(w: TunWrite): Buffer[] {
  if (!w.hasHeader) return [w.data];
  const out: Buffer[] = [];
  if (segmentRead(w.data, out)) throw new Error('unsegmentable write');
  return out;
}

for (const version of [4, 6] as const) {
  t.test(`IPv${version}: a run of full segments and a short last one becomes one write`, async (t) => {
    const pkts = flow([1368, 1368, 1368, 1368, 500], { version });
    const w = coalesce(pkts);
    t.equal(w.length, 1);
    t.equal(w[0]!.hasHeader, true);
    const h = decodeVirtioNetHdr(w[0]!.data)!;
    t.match(h, { flags: 1, gsoType: version === 4 ? 1 : 4, gsoSize: 1368, csumStart: version === 4 ? 20 : 40, csumOffset: 16, hdrLen: (version === 4 ? 20 : 40) + 20 });
    const again = resegment(w[0]!);
    t.same(again.map((p) => checkPacket(p).payload), pkts.map((p) => checkPacket(p).payload), 'the kernel would see the same segments');
    t.same(again.map((p) => checkPacket(p).seq), pkts.map((p) => checkPacket(p).seq));
  });
}

t.test('what must not be joined is written as it is, in order', async (t) => {
  const cases: [string, Buffer[], number][] = [
    ['a single packet', flow([1000], { version: 4 }), 1],
    ['a gap in sequence numbers', [...flow([1000], { version: 4 }), ...flow([1000], { version: 4 }, 9000)], 2],
    ['a larger segment after a smaller one', flow([500, 1000], { version: 4 }), 2],
    ['a segment after a short one', flow([1000, 500, 500], { version: 4 }), 2],
    ['after PSH', flow([1000, 1000], { version: 4, flags: TCP_ACK | TCP_PSH }), 2],
    ['SYN', flow([1000, 1000], { version: 4, flags: TCP_SYN | TCP_ACK }), 2],
    ['FIN', flow([1000, 1000], { version: 6, flags: TCP_FIN | TCP_ACK }), 2],
    ['no DF on IPv4', flow([1000, 1000], { version: 4, df: false }), 2],
    ['different acks', [...flow([1000], { version: 4, ack: 1 }), ...flow([1000], { version: 4, ack: 2 }, 6000)], 2],
    ['different ports', [...flow([1000], { version: 4, srcPort: 1 }), ...flow([1000], { version: 4, srcPort: 2 }, 6000)], 2],
    ['different options', [...flow([1000], { version: 4, options: Buffer.from('01010101', 'hex') }), ...flow([1000], { version: 4, options: Buffer.from('01010100', 'hex') }, 6000)], 2],
    ['UDP', [l4Packet({ version: 4, protocol: 'udp', payload: bytes(1000) }), l4Packet({ version: 4, protocol: 'udp', payload: bytes(1000) })], 2],
    ['pure ACKs', flow([0, 0], { version: 4 }), 2],
  ];
  for (const [what, pkts, n] of cases) {
    const w = coalesce(pkts);
    t.equal(w.length, n, what);
    t.same(w.flatMap(resegment).map((p) => checkPacket(p).payload), pkts.map((p) => checkPacket(p).payload), `${what}: same packets, same order`);
  }
});

t.test('a packet with a bad checksum is never joined (the kernel will not check a joined one)', async (t) => {
  const pkts = flow([1000, 1000, 1000], { version: 4 });
  pkts[1]![60] ^= 0xff;
  const w = coalesce(pkts);
  t.equal(w.length, 3, 'the bad one alone, and it closes the run before it');
  t.same(w[1], { data: pkts[1], hasHeader: false });
});

t.test('two flows interleaved each become one write; other packets keep their place', async (t) => {
  const a = flow([1000, 1000, 1000], { version: 4, srcPort: 1 });
  const b = flow([1200, 1200, 1200], { version: 6, srcPort: 2 });
  const udp = l4Packet({ version: 4, protocol: 'udp', payload: bytes(10) });
  const w = coalesce([a[0]!, b[0]!, udp, a[1]!, b[1]!, a[2]!, b[2]!]);
  t.equal(w.length, 3);
  t.same(w.map((x) => unwrap(x).gsoSize), [1000, 1200, 0]);
  t.same(w[2]!.data, udp);
});

t.test('a FIN of a flow stays after the data before it, and later data starts a new run', async (t) => {
  const [d1, d2, d3, d4] = flow([1000, 1000, 1000, 1000], { version: 4 });
  const fin = l4Packet({ version: 4, protocol: 'tcp', payload: Buffer.alloc(0), seq: 7000, flags: TCP_FIN | TCP_ACK });
  const w = coalesce([d1!, d2!, fin, d3!, d4!]);
  t.equal(w.length, 3);
  t.same(w[1]!.data, fin);
  t.same(w.flatMap(resegment).map((p) => checkPacket(p).seq), [5000, 6000, 7000, 7000, 8000]);
});

t.test('a joined write never exceeds 64 KiB of IP packet', async (t) => {
  const pkts = flow(Array<number>(100).fill(1400), { version: 4 });
  const w = coalesce(pkts);
  t.ok(w.length >= 3);
  for (const x of w) t.ok(unwrap(x).packet.length <= 65535);
  t.same(Buffer.concat(w.flatMap(resegment).map((p) => checkPacket(p).payload)), Buffer.concat(pkts.map((p) => checkPacket(p).payload)));
});

t.test('property: a large segment cut by segmentRead and joined by coalesce is the same segment', async () => {
  fc.assert(
    fc.property(
      fc.constantFrom(4 as const, 6 as const),
      fc.integer({ min: 1, max: 20_000 }),
      fc.integer({ min: 1, max: 1500 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.constantFrom(Buffer.alloc(0), Buffer.from('0101080a0102030405060708', 'hex')),
      fc.boolean(),
      (version, size, gso, seq, options, psh) => {
        const spec: L4Spec = { version, protocol: 'tcp', payload: bytes(size, seq & 0xff), seq, options, flags: TCP_ACK | (psh ? TCP_PSH : 0), id: seq & 0xffff };
        const read = kernelGsoRead(spec, gso);
        const segs: Buffer[] = [];
        if (segmentRead(read, segs)) return false;
        segs.forEach(checkPacket);
        const w = coalesce(segs);
        if (w.length !== 1) return false;
        const { packet, gsoSize } = unwrap(w[0]!);
        const original = l4Packet(spec);
        if (segs.length > 1) {
          // The joined packet is the original but for the checksum field (left to the kernel).
          const off = (version === 4 ? 20 : 40) + 16;
          if (gsoSize !== gso) return false;
          return packet.subarray(0, off).equals(original.subarray(0, off)) && packet.subarray(off + 2).equals(original.subarray(off + 2));
        }
        return packet.equals(original);
      },
    ),
    { numRuns: 300 },
  );
});
