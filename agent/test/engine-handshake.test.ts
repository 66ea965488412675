// Two pure engines on a fake wire: handshakes both ways, sessions, bad input, cookies, roaming.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { EngineNet, ipv4Packet } from './fixtures/engine-net.js';
import { MSG_INITIATION, MSG_RESPONSE, MSG_TRANSPORT, MSG_COOKIE_REPLY, INITIATION } from '../../shared/wire/wireguard.js';
import { createInitiation } from '../wireguard/noise.js';
import { CookieGenerator } from '../wireguard/cookie.js';
import { PrivateKey } from '../wireguard/crypto.js';
import { peerSecrets } from '../wireguard/noise.js';
import { tai64n } from '../wireguard/tai64n.js';

function pair(psk?: Buffer) {
  const net = new EngineNet();
  const { a, b } = net.addPair(psk);
  return { net, a, b, pa: a.device.getPeer(b.key.publicKey)!, pb: b.device.getPeer(a.key.publicKey)! };
}

const types = (ds: { data: Buffer }[]) => ds.map((d) => d.data[0]);

t.test('initiator sends data after one round trip; responder waits for confirmation', async (t) => {
  const { net, a, b, pa, pb } = pair();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'first'));
  t.same(types(net.queue), [MSG_INITIATION], 'the packet waits for a handshake');
  t.equal(pa.stagedCount(), 1);
  net.flush(() => true, 1); // initiation → b, b answers
  t.ok(pb.next && !pb.current, 'responder holds the session as next');
  t.same(types(net.queue), [MSG_RESPONSE]);
  net.flush();
  t.ok(pa.current, 'initiator session is current');
  t.equal(b.tun.length, 1, 'staged packet delivered');
  t.equal(b.tun[0]!.subarray(20).toString(), 'first');
  t.ok(pb.current && !pb.next, 'first transport packet confirmed the session');
  b.device.sendPacket(ipv4Packet('10.0.0.2', '10.0.0.1', 'reply'));
  net.flush();
  t.equal(a.tun.at(-1)!.subarray(20).toString(), 'reply');
  t.ok(pa.stats.lastHandshakeWall > 0 && pb.stats.lastHandshakeWall > 0);
  t.ok(pa.stats.txBytes > 0 && pa.stats.rxBytes > 0 && pb.stats.txBytes > 0 && pb.stats.rxBytes > 0);
  t.equal(pa.stats.txBytes, pb.stats.rxBytes, 'byte counters agree across the wire');
  t.equal(pb.stats.txBytes, pa.stats.rxBytes);
});

t.test('a responder without a confirmed session stages, then sends after confirmation', async (t) => {
  const { net, a, b, pb } = pair();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'));
  net.flush(() => true, 1); // b now has next only
  b.device.sendPacket(ipv4Packet('10.0.0.2', '10.0.0.1', 'early'));
  t.notOk(net.queue.some((d) => d.data[0] === MSG_TRANSPORT && d.from === b.endpoint), 'no data on an unconfirmed session');
  net.flush();
  t.equal(pb.stagedCount(), 0);
  t.ok(a.tun.some((p) => p.subarray(20).toString() === 'early'), 'staged reply delivered once confirmed');
});

t.test('handshake with a preshared key; a mismatched one fails', async (t) => {
  const psk = randomBytes(32);
  const ok = pair(psk);
  ok.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'));
  ok.net.flush();
  t.equal(ok.b.tun.length, 1);

  const bad = pair(psk);
  bad.pb.rekeySecrets(randomBytes(32));
  bad.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'));
  bad.net.flush();
  t.equal(bad.b.tun.length, 0);
  t.equal(bad.a.device.counters.get('rx_bad_response'), 1, 'the initiator rejects the response');
});

t.test('crossing initiations both complete without waiting for a retransmit', async (t) => {
  const { net, a, b } = pair();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'from-a'));
  b.device.sendPacket(ipv4Packet('10.0.0.2', '10.0.0.1', 'from-b'));
  t.same(types(net.queue), [MSG_INITIATION, MSG_INITIATION]);
  net.flush();
  t.ok(b.tun.some((p) => p.subarray(20).toString() === 'from-a'));
  t.ok(a.tun.some((p) => p.subarray(20).toString() === 'from-b'));
});

t.test('bad datagrams are dropped and counted; the session survives', async (t) => {
  const { net, a, b } = pair();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'));
  net.flush();
  const from = a.endpoint;
  const dev = b.device;
  for (let i = 0; i < 2000; i++) dev.receive(randomBytes(Math.floor(Math.random() * 200)), from);
  for (const type of [1, 2, 3, 4]) for (let len = 0; len < 160; len++) {
    const d = randomBytes(len);
    if (len > 0) d[0] = type;
    if (len > 3) d.fill(0, 1, 4);
    dev.receive(d, from);
  }
  t.ok((dev.counters.get('rx_malformed') ?? 0) > 0);
  t.ok((dev.counters.get('rx_bad_mac1') ?? 0) > 0, 'well-sized handshakes with a wrong mac1');
  t.ok((dev.counters.get('rx_unknown_index') ?? 0) > 0, 'transport to unknown indices');
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'still-alive'));
  net.flush();
  t.equal(b.tun.at(-1)!.subarray(20).toString(), 'still-alive');
});

t.test('replayed transport packets and a replayed initiation are rejected', async (t) => {
  const { net, a, b } = pair();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'once'));
  net.flush();
  const initiation = net.wire.find((d) => d.data[0] === MSG_INITIATION)!;
  const transport = net.wire.filter((d) => d.data[0] === MSG_TRANSPORT && d.from === a.endpoint).at(-1)!;
  const delivered = b.tun.length;
  b.device.receive(transport.data, transport.from);
  t.equal(b.tun.length, delivered, 'replayed data not delivered twice');
  t.equal(b.device.counters.get('rx_replay'), 1);
  net.clock.advance(1000);
  b.device.receive(initiation.data, initiation.from);
  t.equal(b.device.counters.get('rx_replayed_initiation'), 1, 'old TAI64N timestamp');
  t.equal(net.queue.filter((d) => d.data[0] === MSG_RESPONSE).length, 0, 'no response to a replay');
});

t.test('decrypted packets with a source outside allowed IPs are dropped', async (t) => {
  const { net, a, b } = pair();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'legit'));
  a.device.sendPacket(ipv4Packet('10.0.0.99', '10.0.0.2', 'spoofed'));
  net.flush();
  t.same(b.tun.map((p) => p.subarray(20).toString()), ['legit']);
  t.equal(b.device.counters.get('rx_disallowed_source'), 1);
});

t.test('wrong mac1 is dropped before any expensive work', async (t) => {
  const { net, a, b } = pair();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'));
  const init = net.queue.shift()!;
  init.data[INITIATION.size - 20]! ^= 0xff; // inside mac1
  b.device.receive(init.data, init.from);
  t.equal(b.device.counters.get('rx_bad_mac1'), 1);
  t.equal(net.queue.length, 0);
});

t.test('roaming: the peer follows the source of the latest authenticated packet', async (t) => {
  const { net, a, b, pb } = pair();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'));
  net.flush();
  net.move(a, '203.0.113.7', 40000);
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'moved'));
  net.flush();
  t.same(pb.endpoint, { address: '203.0.113.7', port: 40000, family: 4 });
  b.device.sendPacket(ipv4Packet('10.0.0.2', '10.0.0.1', 'follow'));
  net.flush();
  t.equal(a.tun.at(-1)!.subarray(20).toString(), 'follow');
  // An unauthenticated packet from elsewhere must not move the endpoint.
  const forged = Buffer.from(net.wire.filter((d) => d.data[0] === MSG_TRANSPORT).at(-1)!.data);
  forged[forged.length - 1]! ^= 1;
  b.device.receive(forged, { address: '192.0.2.66', port: 1, family: 4 });
  t.equal(pb.endpoint!.address, '203.0.113.7');
});

t.test('under load: cookie reply, then the mac2-carrying retry completes', async (t) => {
  const { net, a, b } = pair();
  // An attacker who knows b's public key floods valid-mac1 initiations from one address.
  const attacker = PrivateKey.generate();
  const gen = new CookieGenerator(b.key.publicKey);
  const secrets = peerSecrets(attacker, b.key.publicKey);
  const flood = { address: '192.0.2.200', port: 9999, family: 4 as const };
  for (let i = 0; i < 200; i++) {
    const m = createInitiation(attacker, secrets, i, tai64n(net.clock.wallNow()))!.message;
    gen.addMacs(m, MSG_INITIATION, net.clock.now());
    b.device.receive(m, flood);
  }
  t.ok(b.device.isUnderLoad(), 'device is under load');
  t.ok((b.device.counters.get('tx_cookie_reply') ?? 0) > 0, 'flood answered with cookie replies');
  net.queue.length = 0;
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'through'));
  net.flush(() => true, 2);
  t.ok(net.wire.some((d) => d.data[0] === MSG_COOKIE_REPLY && d.to === a.endpoint), 'a got a cookie reply');
  t.equal(a.device.counters.get('rx_cookie_reply'), 1);
  t.equal(b.tun.length, 0);
  // keep b under load while a retransmits after REKEY_TIMEOUT with mac2 set
  let loadedEveryRound = true;
  for (let s = 0; s < 6; s++) {
    for (let i = 0; i < 150; i++) {
      const m = createInitiation(attacker, secrets, i, tai64n(net.clock.wallNow()))!.message;
      gen.addMacs(m, MSG_INITIATION, net.clock.now());
      b.device.receive(m, flood);
    }
    loadedEveryRound &&= b.device.isUnderLoad();
    net.run(1000);
  }
  t.ok(loadedEveryRound, 'b stayed under load while a retried');
  t.ok(b.tun.some((p) => p.subarray(20).toString() === 'through'), 'handshake completed under load');
});

t.test('initiations closer than 20 ms from one peer are dropped', async (t) => {
  const { net, a, b, pa } = pair();
  const make = () => {
    const m = createInitiation(a.key, pa.secrets!, 1, tai64n(net.clock.wallNow()))!.message;
    pa.cookies.addMacs(m, MSG_INITIATION, net.clock.now());
    return m;
  };
  b.device.receive(make(), a.endpoint);
  net.clock.advance(5);
  b.device.receive(make(), a.endpoint);
  t.equal(b.device.counters.get('rx_initiation_flood'), 1);
  net.clock.advance(30);
  b.device.receive(make(), a.endpoint);
  t.equal(b.device.counters.get('rx_initiation_flood'), 1, 'later one accepted');
});

t.test('padding: transport payloads are multiples of 16, capped at the MTU', async (t) => {
  const { net, a } = pair();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'x'.repeat(7)));
  net.flush();
  for (let len = 1; len < 100; len += 7) a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'y'.repeat(len)));
  const sizes = net.queue.filter((d) => d.data[0] === MSG_TRANSPORT).map((d) => d.data.length - 32);
  t.ok(sizes.length > 0 && sizes.every((s) => s % 16 === 0), `padded sizes ${sizes.join(',')}`);
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'z'.repeat(1420 - 20 - 3)));
  const big = net.queue.at(-1)!;
  t.equal(big.data.length - 32, 1420, 'a packet 3 bytes under the MTU is padded to the MTU, not beyond');
});
