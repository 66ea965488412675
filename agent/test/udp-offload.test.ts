// UDP GSO/GRO on the native socket, with real sockets on loopback: the same datagrams (sizes,
// order, senders) must come out whichever offloads are on at either end, and a kernel that
// refuses GSO must cost nothing but the offload.
import { once } from 'node:events';
import { createSocket, type Socket } from 'node:dgram';
import t, { type Test } from 'tap';
import { BatchUdpSocket, TEST_HOOKS_ENV, type UdpOffloads } from '../daemon/batch-udp-socket.js';
import { NO_UDP_GRO_ENV, NO_UDP_GSO_ENV, offloadSwitches } from '../daemon/offload-switches.js';
import type { Endpoint } from '../../shared/net/address.js';
import { until } from './fixtures/until.js';

process.env[TEST_HOOKS_ENV] = '1'; // read when the addon loads: gives refuseGso()

interface Got {
  data: Buffer;
  from: Endpoint;
}

async function ours(t: Test, offloads: UdpOffloads): Promise<{ sock: BatchUdpSocket; got: Got[] }> {
  const got: Got[] = [];
  const sock = await BatchUdpSocket.bind(0, (data, from) => got.push({ data: Buffer.from(data), from }), undefined, undefined, offloads);
  t.teardown(() => sock.close());
  return { sock, got };
}

async function dgramPeer(t: Test): Promise<{ sock: Socket; port: number; got: Buffer[] }> {
  const sock = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  const got: Buffer[] = [];
  sock.on('message', (d) => got.push(d));
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  t.teardown(() => sock.close());
  return { sock, port: sock.address().port, got };
}

const v4 = (port: number): Endpoint => ({ address: '127.0.0.1', port, family: 4 });
const v6 = (port: number): Endpoint => ({ address: '::1', port, family: 6 });

/**
 * What a tunnel sends: runs of full-size datagrams (one run longer than a GSO send may be), a
 * shorter one ending a run, odd sizes, a zero-length one, a run broken by a larger datagram.
 */
function traffic(): Buffer[] {
  const sizes = [...Array<number>(150).fill(1452), 700, ...Array<number>(5).fill(96), 1452, 33, 0, 1, 1452, 1452, 1500, 1452, 65_000 - 4, 17];
  return sizes.map((n, i) => {
    const b = Buffer.alloc(n, i & 0xff);
    if (n >= 4) b.writeUInt32BE(i, 0);
    return b;
  });
}

t.test('the kernel has UDP GSO and GRO (else the offloads are simply off)', async (t) => {
  const { sock } = await ours(t, {});
  if (!sock.gso || !sock.gro) {
    t.plan(0, `skipped: this kernel lacks UDP_SEGMENT or UDP_GRO (gso ${sock.gso}, gro ${sock.gro})`);
    return;
  }
  t.ok(sock.gso && sock.gro, 'both on by default');
  const off = await ours(t, { gso: false, gro: false });
  t.equal(off.sock.gso, false, 'GSO off when asked');
  t.equal(off.sock.gro, false, 'GRO off when asked');
});

t.test('the environment switches turn each offload off', async (t) => {
  t.same(offloadSwitches({}), { udpGso: true, udpGro: true, tunOffload: true });
  t.same(offloadSwitches({ [NO_UDP_GSO_ENV]: '1' }), { udpGso: false, udpGro: true, tunOffload: true });
  t.same(offloadSwitches({ [NO_UDP_GRO_ENV]: '1' }), { udpGso: true, udpGro: false, tunOffload: true });
  t.same(offloadSwitches({ [NO_UDP_GSO_ENV]: '0' }).udpGso, true, 'only "1" turns it off');
});

for (const gso of [true, false]) {
  for (const gro of [true, false]) {
    t.test(`ours -> ours with GSO ${gso ? 'on' : 'off'} and GRO ${gro ? 'on' : 'off'}: the same datagrams, in order (IPv4 and IPv6)`, async (t) => {
      const tx = await ours(t, { gso, gro: false });
      const rx = await ours(t, { gso: false, gro });
      for (const to of [v4, v6]) {
        rx.got.length = 0;
        const sent = traffic();
        tx.sock.sendBatch(sent.map((data) => ({ data, to: to(rx.sock.port) })));
        await until(() => rx.got.length === sent.length, `${sent.length} datagrams (have ${rx.got.length})`);
        t.same(rx.got.map((g) => g.data), sent, 'same sizes and bytes, same order');
        t.ok(rx.got.every((g) => g.from.port === tx.sock.port && g.from.address === to(0).address), 'every one from our socket');
      }
      t.equal(tx.sock.droppedSends, 0, 'nothing dropped');
      const { gsoSends } = tx.sock.offloadCounts;
      const { groReceives } = rx.sock.offloadCounts;
      if (gso && tx.sock.gso) t.ok(gsoSends > 0, `runs went out as GSO sends (${gsoSends})`);
      else t.equal(gsoSends, 0, 'no GSO sends');
      if (gso && gro && rx.sock.gro) t.ok(groReceives > 0, `runs came in coalesced (${groReceives})`);
      else t.equal(groReceives, 0, 'nothing coalesced');
    });
  }
}

t.test('GSO to a receiver without GRO (node:dgram): the kernel cuts the run into the same datagrams', async (t) => {
  const tx = await ours(t, { gso: true });
  const p = await dgramPeer(t);
  const sent = traffic().filter((d) => d.length <= 1452); // 65 KB does not fit a node:dgram default buffer alongside
  tx.sock.sendBatch(sent.map((data) => ({ data, to: v4(p.port) })));
  await until(() => p.got.length === sent.length, 'every datagram');
  t.same(p.got, sent);
});

t.test('runs to different peers are never merged', async (t) => {
  const tx = await ours(t, { gso: true });
  const a = await ours(t, { gro: true });
  const b = await ours(t, { gro: true });
  const sent = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1000, i));
  // Alternating in runs of 3: a, a, a, b, b, b, ...
  tx.sock.sendBatch(sent.map((data, i) => ({ data, to: v4((Math.floor(i / 3) % 2 === 0 ? a : b).sock.port) })));
  await until(() => a.got.length + b.got.length === 40, 'both peers');
  t.same(a.got.map((g) => g.data), sent.filter((_, i) => Math.floor(i / 3) % 2 === 0));
  t.same(b.got.map((g) => g.data), sent.filter((_, i) => Math.floor(i / 3) % 2 === 1));
});

t.test('a kernel refusing GSO (EINVAL): GSO turns off and the same datagrams still go, one by one', async (t) => {
  const tx = await ours(t, { gso: true });
  if (!tx.sock.gso) {
    t.plan(0, "skipped: this kernel lacks UDP_SEGMENT");
    return;
  }
  const rx = await ours(t, { gro: false });
  tx.sock.refuseGso(); // SO_NO_CHECK: the kernel refuses GSO sends on IPv4
  const sent = traffic();
  tx.sock.sendBatch(sent.map((data) => ({ data, to: v4(rx.sock.port) })));
  await until(() => rx.got.length === sent.length, 'every datagram');
  t.same(rx.got.map((g) => g.data), sent, 'none lost, same order');
  t.equal(tx.sock.gso, false, 'GSO off for good');
  t.equal(tx.sock.offloadCounts.gsoSends, 0, 'no GSO send went');
  t.equal(tx.sock.droppedSends, 0, 'nothing dropped');
});
