// Cutting TUN reads (virtio-net header + large segment) into MTU-sized packets: IPv4 and IPv6,
// TCP and UDP, odd sizes, checksum offload alone, and headers from the kernel side that make no
// sense (dropped with a reason, never thrown).
import t from 'tap';
import { segmentRead } from '../tun/offload/segment.js';
import { VIRTIO_NET_HDR_LEN } from '../tun/offload/virtio-net-hdr.js';
import { TCP_ACK, TCP_CWR, TCP_FIN, TCP_PSH, checkPacket, kernelGsoRead, l4Packet } from './fixtures/l4-packets.js';

const bytes = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));
const plain = (p: Buffer) => Buffer.concat([Buffer.alloc(VIRTIO_NET_HDR_LEN), p]);

for (const version of [4, 6] as const) {
  for (const protocol of ['tcp', 'udp'] as const) {
    for (const [size, gso] of [[14000, 1380], [1, 1380], [1380, 1380], [4141, 1000], [999, 7], [65000 - 60, 1448]] as const) {
      t.test(`IPv${version} ${protocol}: ${size} bytes cut at ${gso}`, async (t) => {
        const payload = bytes(size);
        const read = kernelGsoRead({ version, protocol, payload, seq: 0xffff_f000, id: 0xfffe, flags: TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR }, gso);
        const out: Buffer[] = [];
        t.equal(segmentRead(read, out), undefined, 'not dropped');
        t.equal(out.length, Math.ceil(size / gso), 'one packet per segment');
        const parsed = out.map(checkPacket); // lengths and checksums right, or it throws
        t.same(Buffer.concat(parsed.map((p) => p.payload)), payload, 'the payload, in order');
        t.ok(parsed.slice(0, -1).every((p) => p.payload.length === gso), 'all full but the last');
        if (version === 4) t.same(parsed.map((p) => p.id), parsed.map((_, i) => (0xfffe + i) & 0xffff), 'IPv4 ids count up (wrapping)');
        if (protocol === 'tcp') {
          t.same(parsed.map((p) => p.seq), parsed.map((_, i) => (0xffff_f000 + i * gso) >>> 0), 'sequence numbers follow (wrapping)');
          const last = parsed.length - 1;
          t.ok(parsed.every((p, i) => ((p.flags & (TCP_FIN | TCP_PSH)) !== 0) === (i === last)), 'FIN and PSH on the last only');
          t.ok(parsed.every((p, i) => ((p.flags & TCP_CWR) !== 0) === (i === 0)), 'CWR on the first only');
          t.ok(parsed.every((p) => (p.flags & TCP_ACK) !== 0), 'ACK on all');
        }
      });
    }
  }
}

t.test('TCP options are repeated on every segment', async (t) => {
  const options = Buffer.from('0101080a0000000100000002', 'hex'); // NOP NOP timestamps
  const out: Buffer[] = [];
  t.equal(segmentRead(kernelGsoRead({ version: 4, protocol: 'tcp', payload: bytes(3000), options }, 1000), out), undefined);
  t.equal(out.length, 3);
  for (const p of out) {
    checkPacket(p);
    t.same(p.subarray(40, 52), options);
  }
});

t.test('a plain packet passes as a view; checksum offload alone is finished', async (t) => {
  const p = l4Packet({ version: 4, protocol: 'tcp', payload: bytes(100) });
  const out: Buffer[] = [];
  t.equal(segmentRead(plain(p), out), undefined);
  t.same(out, [p]);

  for (const protocol of ['tcp', 'udp'] as const) {
    for (const version of [4, 6] as const) {
      const read = kernelGsoRead({ version, protocol, payload: bytes(333) }, 0);
      read[1] = 0; // GSO none, NEEDS_CSUM still set
      const got: Buffer[] = [];
      t.equal(segmentRead(read, got), undefined);
      t.doesNotThrow(() => checkPacket(got[0]!), `IPv${version} ${protocol} checksum finished`);
    }
  }
});

t.test('a UDP checksum that computes to 0 is sent as 0xffff', async (t) => {
  // Find a payload whose checksum is 0 by fixing its last two bytes.
  const base = l4Packet({ version: 6, protocol: 'udp', payload: Buffer.alloc(20) });
  const c = base.readUInt16BE(46);
  const payload = Buffer.alloc(20);
  payload.writeUInt16BE(c === 0xffff ? 0 : c, 18); // adds c to the sum: the complement becomes 0
  const read = kernelGsoRead({ version: 6, protocol: 'udp', payload }, 0);
  read[1] = 0;
  const out: Buffer[] = [];
  segmentRead(read, out);
  t.equal(out[0]!.readUInt16BE(46), 0xffff);
});

t.test('bad virtio-net headers from the kernel side are dropped with a reason, never thrown', async (t) => {
  const good = () => kernelGsoRead({ version: 4, protocol: 'tcp', payload: bytes(3000) }, 1000);
  const cases: [string, (b: Buffer) => Buffer, string][] = [
    ['shorter than a header', () => Buffer.alloc(7), 'vnet_short'],
    ['empty', () => Buffer.alloc(0), 'vnet_short'],
    ['UFO', (b) => ((b[1] = 3), b), 'vnet_gso_type'],
    ['unknown GSO type', (b) => ((b[1] = 9), b), 'vnet_gso_type'],
    ['TCPv6 on an IPv4 packet', (b) => ((b[1] = 4), b), 'vnet_gso_mismatch'],
    ['USO on a TCP packet', (b) => ((b[1] = 5), b), 'vnet_gso_mismatch'],
    ['segment size 0', (b) => (b.writeUInt16LE(0, 4), b), 'vnet_gso_size'],
    ['checksum start off the TCP header', (b) => (b.writeUInt16LE(24, 6), b), 'vnet_bad_csum'],
    ['checksum offset off the TCP field', (b) => (b.writeUInt16LE(10, 8), b), 'vnet_bad_csum'],
    ['checksum beyond the packet (no GSO)', (b) => ((b[1] = 0), b.writeUInt16LE(5000, 6), b), 'vnet_bad_csum'],
    ['checksum field past the end (no GSO)', (b) => ((b[1] = 0), b.writeUInt16LE(b.length - 11, 6), b.writeUInt16LE(0, 8), b), 'vnet_bad_csum'],
    ['IPv4 length disagreeing with the read', (b) => (b.writeUInt16BE(100, 12), b), 'vnet_gso_mismatch'],
    ['truncated TCP header', (b) => b.subarray(0, 10 + 30), 'vnet_gso_mismatch'],
    ['not IP', (b) => ((b[10] = 0x15), b), 'vnet_gso_mismatch'],
  ];
  for (const [what, mutate, reason] of cases) {
    const out: Buffer[] = [];
    let r: string | undefined;
    t.doesNotThrow(() => (r = segmentRead(mutate(good()), out)), what);
    t.equal(r, reason, what);
    t.equal(out.length, 0, `${what}: nothing passed on`);
  }
});

t.test('random headers never throw', async (t) => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8) & 0xff;
  for (let i = 0; i < 3000; i++) {
    const b = kernelGsoRead({ version: i % 2 ? 4 : 6, protocol: i % 3 ? 'tcp' : 'udp', payload: bytes(i % 2000) }, 500);
    for (let j = 0; j < 10; j++) if (rnd() < 128) b[j] = rnd();
    const out: Buffer[] = [];
    segmentRead(b.subarray(0, rnd() < 20 ? rnd() : b.length), out);
  }
  t.pass('3000 mangled reads, no throw');
});
