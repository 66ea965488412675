// Property tests of Device.receive, the engine's entry point for every datagram from the network:
// random and mutated-valid datagrams never throw, never create or change session state, never
// reach the TUN, and each one is counted exactly once among the drop counters.
import t from 'tap';
import fc from 'fast-check';
import { checkProperty } from '../../fuzz/check.js';
import { hostileBytes, mutatedFrom } from '../../fuzz/mutate.js';
import { EngineNet, ipv4Packet, type Node } from './fixtures/engine-net.js';
import { COOKIE_REPLY, INITIATION, RESPONSE, TRANSPORT_MIN_SIZE } from '../../shared/wire/wireguard.js';
import type { Endpoint } from '../../shared/net/address.js';

/** Two devices with a session both ways; every datagram that crossed the wire was delivered. */
function established() {
  const net = new EngineNet();
  const { a, b } = net.addPair();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'one'));
  net.flush();
  b.device.sendPacket(ipv4Packet('10.0.0.2', '10.0.0.1', 'two'));
  a.device.sendPacket(Buffer.alloc(0)); // malformed from the TUN: counted, nothing sent
  net.flush();
  return { net, a, b, captured: net.wire.map((d) => d.data) };
}

interface Snapshot {
  indices: number;
  peers: number;
  endpoints: string;
  rxBytes: number;
  tun: number;
  counted: number;
}

function snapshot(n: Node): Snapshot {
  const peers = n.device.listPeers();
  return {
    // The index table is private; its size is what an unauthenticated packet must not grow.
    indices: (n.device as unknown as { indices: Map<number, unknown> }).indices.size,
    peers: peers.length,
    endpoints: peers.map((p) => (p.endpoint ? `${p.endpoint.address}:${p.endpoint.port}` : '-')).join(','),
    rxBytes: peers.reduce((s, p) => s + p.stats.rxBytes, 0),
    tun: n.tun.length,
    counted: [...n.device.counters.values()].reduce((s, v) => s + v, 0),
  };
}

const attacker: Endpoint = { address: '203.0.113.66', port: 4444, family: 4 };
const from = fc.constantFrom<Endpoint>(attacker, { address: '198.51.100.1', port: 51820, family: 4 }, { address: '198.51.100.2', port: 51820, family: 4 });

/** Random bodies behind a WireGuard header, so inputs get past the type test into each path. */
const shaped = fc
  .tuple(fc.constantFrom(1, 2, 3, 4), fc.constantFrom(INITIATION.size, RESPONSE.size, COOKIE_REPLY.size, TRANSPORT_MIN_SIZE, 64, 100))
  .chain(([type, size]) => fc.uint8Array({ minLength: size, maxLength: size }).map((u) => {
    const b = Buffer.from(u);
    b.fill(0, 0, 4);
    b[0] = type;
    return b;
  }));

function unchangedButCounted(before: Snapshot, after: Snapshot): boolean {
  return (
    after.indices === before.indices &&
    after.peers === before.peers &&
    after.endpoints === before.endpoints &&
    after.rxBytes === before.rxBytes &&
    after.tun === before.tun &&
    after.counted === before.counted + 1
  );
}

t.test('hostile datagrams change nothing and are each counted once', async (t) => {
  const { a, b, captured } = established();
  t.ok(captured.length >= 4 && b.tun.length === 1 && a.tun.length === 1, 'the fixture has live sessions');
  checkProperty(
    t,
    'random, header-shaped and mutated captured datagrams',
    fc.property(fc.oneof(hostileBytes(captured, 200), shaped, mutatedFrom(captured, 3)), fc.boolean(), from, (d, toA, src) => {
      const target = toA ? a : b;
      const before = snapshot(target);
      target.device.receive(d, src);
      return unchangedButCounted(before, snapshot(target));
    }),
    { numRuns: 1500 },
  );
});

t.test('replays of every captured datagram are refused and counted', async (t) => {
  const { a, b, captured } = established();
  checkProperty(
    t,
    'exact replays',
    fc.property(fc.nat({ max: captured.length - 1 }), fc.boolean(), from, (i, toA, src) => {
      const target = toA ? a : b;
      const before = snapshot(target);
      target.device.receive(Buffer.from(captured[i]!), src);
      return unchangedButCounted(before, snapshot(target));
    }),
    { numRuns: 100 },
  );
});

t.test('a device without a private key drops everything, counted', async (t) => {
  const net = new EngineNet();
  const n = net.add('n', '198.51.100.9', 51820);
  n.device.setPrivateKey(undefined);
  const { captured } = established();
  checkProperty(
    t,
    'no key, no state',
    fc.property(fc.oneof(shaped, mutatedFrom(captured, 2)), (d) => {
      const before = snapshot(n);
      n.device.receive(d, attacker);
      return unchangedButCounted(before, snapshot(n));
    }),
    { numRuns: 200 },
  );
});
