// A large segment from the TUN, cut into packets, whose packets cross a rekey in the engine: the
// session runs out mid-segment, the rest waits for the new one, and the far side still gets every
// packet in order, joinable into the same segment again.
import t from 'tap';
import { REKEY_TIMEOUT } from '../wireguard/constants.js';
import { coalesce } from '../tun/offload/coalesce.js';
import { segmentRead } from '../tun/offload/segment.js';
import { EngineNet } from './fixtures/engine-net.js';
import { TCP_ACK, checkPacket, kernelGsoRead } from './fixtures/l4-packets.js';

t.test('a TSO segment whose packets cross a rekey arrives whole and in order', async (t) => {
  const net = new EngineNet();
  // The session is used up after 15 messages, so a 40-packet segment needs three sessions.
  const limits = { rejectAfterMessages: 15, rekeyAfterMessages: 10 };
  const a = net.add('a', '198.51.100.1', 51820, limits);
  const b = net.add('b', '198.51.100.2', 51820, limits);
  net.link(a, b, '10.78.0.1', '10.78.0.2');
  const pa = a.device.getPeer(b.key.publicKey)!;

  const payload = Buffer.from(Array.from({ length: 40 * 1368 }, (_, i) => (i * 11) & 0xff));
  const read = kernelGsoRead({ version: 4, protocol: 'tcp', payload, seq: 0xffff_0000, flags: TCP_ACK }, 1368);
  const packets: Buffer[] = [];
  t.equal(segmentRead(read, packets), undefined);
  t.equal(packets.length, 40);

  for (const p of packets) a.device.sendPacket(p);
  net.run(3 * (REKEY_TIMEOUT + 500));
  const sessions = new Set(net.wire.filter((d) => d.data[0] === 4 && d.from === a.endpoint).map((d) => d.data.readUInt32LE(4)));
  t.ok(sessions.size >= 3, `the packets went out under ${sessions.size} sessions`);
  t.equal(pa.stagedCount(), 0, 'nothing left waiting');

  t.equal(b.tun.length, 40, 'every packet arrived');
  t.same(Buffer.concat(b.tun.map((p) => checkPacket(p).payload)), payload, 'in order, every checksum valid');
  const w = coalesce(b.tun);
  t.equal(w.length, 1, 'the far side joins them into one write again');
});
