// The native batching UDP socket against node:dgram peers, over loopback only (127.0.0.1, ::1).
// The socket itself binds the wildcard address, as the engine's socket does (one test binds one address, as the server relay does).
import { once } from 'node:events';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { constants } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import t, { type Test } from 'tap';
import { BatchUdpSocket, TEST_HOOKS_ENV } from '../daemon/batch-udp-socket.js';
import type { Endpoint } from '../../shared/net/address.js';
import { projectRoot } from '../../e2e/lib/wgp2p-tunnel.js';
import { until } from './fixtures/until.js';

// Read by the addon when it loads, at the first bind below: gives the socket injectPollError.
process.env[TEST_HOOKS_ENV] = '1';
const { EIO } = constants.errno;

interface Received {
  data: Buffer;
  from: Endpoint;
}

/** A BatchUdpSocket on an ephemeral port recording what it receives, closed at teardown. */
async function ours(t: Test): Promise<{ sock: BatchUdpSocket; got: Received[]; batches: number[] }> {
  const got: Received[] = [];
  const batches: number[] = [];
  let inBatch = 0;
  const sock = await BatchUdpSocket.bind(
    0,
    (data, from) => {
      got.push({ data: Buffer.from(data), from });
      inBatch++;
    },
    () => {
      batches.push(inBatch);
      inBatch = 0;
    },
  );
  t.teardown(() => sock.close());
  return { sock, got, batches };
}

async function peer(t: Test, type: 'udp4' | 'udp6'): Promise<{ sock: Socket; port: number; got: { data: Buffer; rinfo: RemoteInfo }[] }> {
  const sock = createSocket({ type, recvBufferSize: 1 << 20 });
  const got: { data: Buffer; rinfo: RemoteInfo }[] = [];
  sock.on('message', (data, rinfo) => got.push({ data, rinfo }));
  sock.bind(0, type === 'udp4' ? '127.0.0.1' : '::1');
  await once(sock, 'listening');
  t.teardown(() => sock.close());
  return { sock, port: sock.address().port, got };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const v4 = (port: number): Endpoint => ({ address: '127.0.0.1', port, family: 4 });
const v6 = (port: number): Endpoint => ({ address: '::1', port, family: 6 });
/** n distinct datagrams: each starts with its index, the rest is filler. */
const numbered = (n: number, size = 32) =>
  Array.from({ length: n }, (_, i) => {
    const b = Buffer.alloc(size, i & 0xff);
    b.writeUInt32BE(i, 0);
    return b;
  });

t.test('binds any port, dual-stack', async (t) => {
  const { sock } = await ours(t);
  t.ok(sock.port > 0 && sock.port < 65536, `port ${sock.port}`);
  t.equal(sock.dualStack, true, 'this host has IPv6');
});

t.test('a busy port is refused in words a user can act on', async (t) => {
  const { sock } = await ours(t);
  await t.rejects(BatchUdpSocket.bind(sock.port, () => {}), { message: `UDP port ${sock.port} is already in use (another WireGuard or wgp2p running?)` });
  // A node:dgram socket holding the port on IPv4 loopback blocks the dual-stack wildcard too.
  const other = await peer(t, 'udp4');
  await t.rejects(BatchUdpSocket.bind(other.port, () => {}), /already in use/);
});

t.test('a socket bound to one address (the server relay\'s --relay-host) hears only that address', async (t) => {
  const got: Received[] = [];
  const sock = await BatchUdpSocket.bind(0, (data, from) => got.push({ data: Buffer.from(data), from }), undefined, undefined, { host: '127.0.0.1' });
  t.teardown(() => sock.close());
  t.equal(sock.dualStack, false, 'an IPv4 address gives an IPv4 socket');
  const p = await peer(t, 'udp4');
  // 127.0.0.2 is loopback too: a wildcard socket would hear it, ours must not.
  p.sock.send(Buffer.from('elsewhere'), sock.port, '127.0.0.2');
  p.sock.send(Buffer.from('here'), sock.port, '127.0.0.1');
  await until(() => got.length === 1, 'the datagram to 127.0.0.1');
  await sleep(50);
  t.same(got.map((g) => g.data.toString()), ['here'], 'only the datagram to the bound address');
  t.same(got[0]!.from, v4(p.port), 'from the peer, IPv4 text');
  sock.sendBatch([{ data: Buffer.from('back'), to: v4(p.port) }]);
  await until(() => p.got.length === 1, 'the answer');
  t.equal(p.got[0]!.rinfo.address, '127.0.0.1', 'answered from the bound address');
  const v6sock = await BatchUdpSocket.bind(0, () => {}, undefined, undefined, { host: '::1' });
  t.teardown(() => v6sock.close());
  t.ok(v6sock.port > 0, 'an IPv6 address binds too');
  await t.rejects(BatchUdpSocket.bind(0, () => {}, undefined, undefined, { host: 'localhost' }), /not an IP address to bind/);
  // Another socket on the same address and port is refused like a busy wildcard port.
  await t.rejects(BatchUdpSocket.bind(sock.port, () => {}, undefined, undefined, { host: '127.0.0.1' }), { code: 'EADDRINUSE' });
});

t.test('bad ports are refused', async (t) => {
  for (const p of [-1, 65536, 1.5, NaN]) await t.rejects(BatchUdpSocket.bind(p, () => {}), RangeError, String(p));
});

t.test('a batch reaches a node:dgram peer intact and in order (IPv4 and IPv6)', async (t) => {
  const { sock } = await ours(t);
  for (const [type, to] of [['udp4', v4], ['udp6', v6]] as const) {
    const p = await peer(t, type);
    const sent = numbered(100, 200);
    sock.sendBatch(sent.map((data) => ({ data, to: to(p.port) })));
    await until(() => p.got.length === sent.length, `${type} datagrams`);
    t.same(p.got.map((g) => g.data), sent, `${type}: all 100, in order`);
    t.equal(p.got[0]!.rinfo.port, sock.port, 'sent from our port');
  }
  t.equal(sock.droppedSends, 0);
});

t.test('a batch alternating between two peers reaches each (the address cache follows changes)', async (t) => {
  const { sock } = await ours(t);
  const a = await peer(t, 'udp4');
  const b = await peer(t, 'udp6');
  const sent = numbered(60);
  sock.sendBatch(sent.map((data, i) => ({ data, to: i % 3 === 0 ? v6(b.port) : v4(a.port) })));
  await until(() => a.got.length + b.got.length === 60, 'both peers');
  t.same(a.got.map((g) => g.data), sent.filter((_, i) => i % 3 !== 0));
  t.same(b.got.map((g) => g.data), sent.filter((_, i) => i % 3 === 0));
});

t.test('enqueue() without flush() still sends, after the current callback', async (t) => {
  const { sock } = await ours(t);
  const p = await peer(t, 'udp4');
  sock.enqueue(Buffer.from('late'), v4(p.port));
  t.equal(p.got.length, 0, 'not yet');
  await until(() => p.got.length === 1, 'the microtask flush');
  t.equal(p.got[0]!.data.toString(), 'late');
});

t.test('datagrams from node:dgram arrive intact, in order, from unmapped IPv4 and from IPv6', async (t) => {
  const { sock, got, batches } = await ours(t);
  const a = await peer(t, 'udp4');
  const sent = numbered(200, 300);
  for (const d of sent) a.sock.send(d, sock.port, '127.0.0.1');
  await until(() => got.length === 200, 'IPv4 datagrams');
  t.same(got.map((g) => g.data), sent, 'all 200, in order');
  t.same(got[0]!.from, { address: '127.0.0.1', port: a.port, family: 4 }, 'v4-mapped source reported as plain IPv4');
  t.ok(batches.length < 200, `delivered in ${batches.length} wake-ups`);
  t.equal(batches.reduce((x, y) => x + y, 0), 200, 'onBatchEnd after every wake-up');

  const b = await peer(t, 'udp6');
  b.sock.send(Buffer.from('six'), sock.port, '::1');
  await until(() => got.length === 201, 'the IPv6 datagram');
  t.same(got[200], { data: Buffer.from('six'), from: { address: '::1', port: b.port, family: 6 } });
});

t.test('zero-length and large datagrams pass both ways; oversized ones are dropped, not thrown', async (t) => {
  const { sock, got } = await ours(t);
  const p = await peer(t, 'udp4');
  const big = Buffer.alloc(65507, 7); // the largest IPv4 UDP payload
  sock.sendBatch([
    { data: Buffer.alloc(0), to: v4(p.port) },
    { data: Buffer.alloc(70000), to: v4(p.port) },
    { data: big, to: v4(p.port) },
  ]);
  await until(() => p.got.length === 2, 'empty and big datagrams');
  t.equal(p.got[0]!.data.length, 0, 'empty datagram sent');
  t.ok(p.got[1]!.data.equals(big), 'big datagram intact after an oversized one was skipped');
  t.equal(sock.droppedSends, 1, 'the oversized one counted as dropped');

  p.sock.send(Buffer.alloc(0), sock.port, '127.0.0.1');
  p.sock.send(big, sock.port, '127.0.0.1');
  await until(() => got.length === 2, 'empty and big datagrams back');
  t.equal(got[0]!.data.length, 0, 'empty datagram received');
  t.ok(got[1]!.data.equals(big), 'big datagram received intact');
});

t.test('unusable destinations are dropped and counted', async (t) => {
  const { sock } = await ours(t);
  sock.send(Buffer.from('x'), { address: 'not-an-ip', port: 9, family: 4 });
  sock.sendBatch([{ data: Buffer.from('x'), to: { address: '127.0.0.1', port: 70000, family: 4 } }]);
  t.equal(sock.droppedSends, 2);
});

t.test('close() is idempotent and nothing throws afterwards', async (t) => {
  const { sock } = await ours(t);
  const port = sock.port;
  sock.close();
  sock.close();
  t.doesNotThrow(() => {
    sock.send(Buffer.from('x'), v4(9));
    sock.sendBatch([{ data: Buffer.from('x'), to: v4(9) }]);
    sock.enqueue(Buffer.from('x'), v4(9));
    sock.flush();
  });
  t.equal(sock.port, port, 'port still readable');
  // The port is free again.
  const again = await BatchUdpSocket.bind(port, () => {});
  again.close();
});

t.test('terminating a worker that is polling a socket does not crash the process', async (t) => {
  const addon = join(projectRoot(), 'agent/native/build/Release/wgp2p_tun.node');
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const { UdpSocket } = require(${JSON.stringify(addon)});
     const s = new UdpSocket(0);
     s.start(() => {}, () => {});
     parentPort.postMessage(s.port);`,
    { eval: true },
  );
  const [port] = (await once(worker, 'message')) as [number];
  // Traffic in flight while the environment goes away.
  const p = await peer(t, 'udp4');
  for (let i = 0; i < 50; i++) p.sock.send(Buffer.from('x'), port, '127.0.0.1');
  await worker.terminate();
  t.pass('still alive');
  // The worker's socket was closed with it.
  const again = await BatchUdpSocket.bind(port, () => {});
  again.close();
});

t.test('a poll error reaches onError once, as an Error with .code; the socket goes deaf but stays usable', async (t) => {
  const errors: Error[] = [];
  const got: Buffer[] = [];
  const sock = await BatchUdpSocket.bind(0, (data) => got.push(Buffer.from(data)), undefined, (err) => errors.push(err));
  t.teardown(() => sock.close());
  const p = await peer(t, 'udp4');
  p.sock.send(Buffer.from('before'), sock.port, '127.0.0.1');
  await until(() => got.length === 1, 'a datagram before the error');
  t.equal(sock.failure, undefined, 'no failure yet');

  sock.injectPollError(EIO);
  await until(() => errors.length > 0, 'onError');
  t.ok(errors[0] instanceof Error, 'an Error');
  t.match(errors[0], { code: 'EIO', errno: -EIO, syscall: 'uv_poll', message: `receiving on UDP port ${sock.port} failed (EIO: Input/output error)` });
  t.equal(sock.failure, errors[0], 'the socket reports it');

  p.sock.send(Buffer.from('after'), sock.port, '127.0.0.1');
  await sleep(200);
  t.equal(errors.length, 1, 'reported once, no spinning on the dead poll');
  t.same(got.map(String), ['before'], 'nothing is received after the error');
  sock.send(Buffer.from('still sends'), v4(p.port));
  await until(() => p.got.length === 1, 'a datagram sent after the error');
  t.throws(() => sock.injectPollError(EIO), { message: 'UDP socket is not reading' });
  t.throws(() => sock.injectPollError(0), RangeError);
});
