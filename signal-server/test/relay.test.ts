// The server's packet relay, over real sockets on loopback: members of a room bind their UDP
// sockets with the token from welcome and exchange WireGuard-shaped packets through the relay,
// across UDP and WebSocket, and everything else is dropped and counted.
import t from 'tap';
import { encodeBind, encodeWsFrame, RELAY_DATA, RELAY_UNREACHABLE, type RelayPacket } from '../../shared/wire/relay.js';
import { roomId, startTestServer, waitFor } from './helpers.js';
import { member, UdpPeer, wgTransport, type Member } from './relay-helpers.js';

const isData = (from: string, payload?: Buffer) => (p: RelayPacket) =>
  p.type === RELAY_DATA && p.id === from && (payload === undefined || p.payload.equals(payload));
const isUnreachable = (id: string) => (p: RelayPacket) => p.type === RELAY_UNREACHABLE && p.id === id;
const wsFrameFrom = (from: string, payload: Buffer) => (b: Buffer) => b.equals(encodeWsFrame(from, payload));

t.test('the relay between members of a room', async (t) => {
  const server = await startTestServer({ relay: true, relayPort: 0, stunPort: 0 });
  const room = roomId();
  const otherRoom = roomId();
  const members: Member[] = [];
  const peers: UdpPeer[] = [];
  t.teardown(async () => {
    members.forEach((m) => m.client.close());
    peers.forEach((p) => p.close());
    await server.close();
  });
  const join = async (...rooms: string[]) => {
    const m = await member(server, ...rooms);
    members.push(m);
    return m;
  };
  const udp = async () => {
    const p = await UdpPeer.open(server.relay!.port);
    peers.push(p);
    return p;
  };
  const dropped = (reason: string) => server.metrics().relayDropped[reason] ?? 0;
  // A fresh packet sent now reaches `to`: on loopback, what was sent before it has been dealt with.
  const markerCrosses = async (fromPeer: UdpPeer, from: Member, toPeer: UdpPeer, to: Member) => {
    const marker = wgTransport(0);
    fromPeer.sendData(to.id, marker);
    await toPeer.next(isData(from.id, marker));
  };

  const a = await join(room);
  const b = await join(room);
  const c = await join(room); // WebSocket only: never binds UDP
  const stranger = await join(otherRoom);
  const ua = await udp();
  const ub = await udp();

  t.test('welcome names the STUN port, the relay port, a token per member, and the WebSocket relay', async (t) => {
    t.ok(server.relay, 'the handle names the relay');
    t.equal(a.welcome.relayPort, server.relay!.port);
    t.equal(a.welcome.stunPort, server.stun!.port);
    t.equal(a.welcome.wsRelay, true);
    t.equal(a.token.length, 32, 'the token is 32 bytes');
    t.not(a.welcome.relayToken, b.welcome.relayToken, 'each member its own token');
  });

  t.test('BIND with the token from welcome: BOUND echoing the txid', async (t) => {
    t.ok(await ua.bind(a.id, a.token), 'a bound');
    t.ok(await ub.bind(b.id, b.token), 'b bound');
    t.equal(server.metrics().relayBindings, 2);
  });

  t.test('UDP to UDP: the payload arrives with the source id in front', async (t) => {
    const before = server.metrics().relayedPackets.udp;
    const p = wgTransport(5);
    ua.sendData(b.id, p);
    await ub.next(isData(a.id, p));
    const back = wgTransport(1);
    ub.sendData(a.id, back);
    await ua.next(isData(b.id, back));
    t.equal(server.metrics().relayedPackets.udp, before + 2);
    t.equal(server.metrics().relayedBytes.udp >= p.length + back.length, true);
    t.pass('both ways');
  });

  t.test('handshake-sized messages pass too', async (t) => {
    for (const [type, size] of [[1, 148], [2, 92], [3, 64]] as const) {
      const p = Buffer.alloc(size, 7);
      p[0] = type;
      p[1] = p[2] = p[3] = 0;
      ua.sendData(b.id, p);
      await ub.next(isData(a.id, p));
    }
    t.pass('initiation, response, cookie reply');
  });

  t.test('a burst is forwarded whole and in order (one wake-up in, one batched send out)', async (t) => {
    const before = server.metrics().relayedPackets.udp;
    // Equal sizes, as a sealed TUN batch is: the relay may send them as one GSO run.
    const burst = Array.from({ length: 64 }, () => wgTransport(80));
    burst.forEach((p, i) => p.writeUInt32BE(i, 4));
    for (const p of burst) ua.sendData(b.id, p);
    await ub.next(isData(a.id, burst[burst.length - 1]!));
    const got = ub.received.filter((p) => burst.some((q) => isData(a.id, q)(p)));
    t.equal(got.length, burst.length, 'all 64 arrived (within a default receive buffer)');
    t.same(got.map((p) => (p.type === RELAY_DATA ? p.payload.readUInt32BE(4) : -1)), burst.map((_, i) => i), 'in the order sent');
    t.equal(server.metrics().relayedPackets.udp, before + burst.length);
    t.equal(server.metrics().relayDropped.udp_send_error ?? 0, 0, 'nothing refused by the kernel');
  });

  t.test('UDP to a member without a binding: delivered on its WebSocket', async (t) => {
    const before = server.metrics().relayedPackets.ws;
    const p = wgTransport(2);
    ua.sendData(c.id, p);
    await c.client.nextBinary(wsFrameFrom(a.id, p));
    t.equal(server.metrics().relayedPackets.ws, before + 1);
  });

  t.test('WebSocket to a member with a binding: delivered on UDP', async (t) => {
    const p = wgTransport(3);
    c.client.ws.send(encodeWsFrame(a.id, p), { binary: true });
    await ua.next(isData(c.id, p));
    t.pass('cross transport');
  });

  t.test('WebSocket to WebSocket, once the destination has lost its binding', async (t) => {
    // Another member binding from a's address takes it over (a NAT mapping reused): a is unbound.
    const d = await join(room);
    t.ok(await ua.bind(d.id, d.token), 'd bound from a\'s address');
    const p = wgTransport(3);
    c.client.ws.send(encodeWsFrame(a.id, p), { binary: true });
    await a.client.nextBinary(wsFrameFrom(c.id, p));
    const q = wgTransport(0);
    c.client.ws.send(encodeWsFrame(d.id, q), { binary: true });
    await ua.next(isData(c.id, q));
    t.pass('a on its WebSocket, d on the UDP socket a had');
    t.ok(await ua.bind(a.id, a.token), 'a binds again');
    d.client.close();
    await d.client.closed;
  });

  t.test('BIND with a wrong token, or another member\'s: no BOUND, counted', async (t) => {
    const before = dropped('bad_auth');
    const u = await udp();
    t.notOk(await u.bind(a.id, b.token, 300), "b's token does not bind a");
    t.notOk(await u.bind(a.id, Buffer.alloc(32), 300), 'zeros do not');
    t.notOk(await u.bind(a.id, a.token.subarray(0, 16), 300), 'half a token does not');
    t.notOk(await u.bind('nobody-here', a.token, 300), 'an unknown id does not');
    t.equal(dropped('bad_auth'), before + 4);
    t.equal(server.metrics().relayBindings, 2, 'still a and b only');
  });

  t.test('a member cannot relay to itself, over UDP or WebSocket: dropped as self', async (t) => {
    const before = dropped('self');
    ua.sendData(a.id, wgTransport(1));
    c.client.ws.send(encodeWsFrame(c.id, wgTransport(1)), { binary: true });
    await waitFor(() => dropped('self') === before + 2, 2000, 'self counted');
    await markerCrosses(ub, b, ua, a);
    t.notOk(ua.received.some((d) => d.type === RELAY_DATA && d.id === a.id), 'nothing came back to a from itself');
    t.equal(c.client.binary.filter((f) => f.equals(encodeWsFrame(c.id, wgTransport(1)))).length, 0, 'nor to c');
  });

  t.test('a member of another room cannot send to the room', async (t) => {
    const before = dropped('not_allowed');
    const us = await udp();
    t.ok(await us.bind(stranger.id, stranger.token), 'the stranger may bind');
    us.sendData(a.id, wgTransport(1));
    stranger.client.ws.send(encodeWsFrame(c.id, wgTransport(1)), { binary: true });
    await waitFor(() => dropped('not_allowed') === before + 2, 2000, 'not_allowed counted');
    // Order on loopback: a packet sent after the refused one arrives, the refused one never did.
    await markerCrosses(ub, b, ua, a);
    t.equal(ua.received.filter(isData(stranger.id)).length, 0, 'nothing from the stranger on UDP');
    await stranger.client.sync();
    t.equal(stranger.client.ofType('error').length, 0, 'no error that would tell the stranger who exists');
    await c.client.sync();
    t.equal(c.client.binary.filter((f) => f.subarray(1, 1 + stranger.id.length).toString() === stranger.id).length, 0, 'nothing on WebSocket');
  });

  t.test('payloads that are not WireGuard messages are dropped', async (t) => {
    const before = dropped('not_wireguard');
    const odd = wgTransport(1).subarray(0, 31); // shorter than any transport message
    const text = Buffer.from('GET / HTTP/1.1\r\nHost: victim\r\n\r\n');
    ua.sendData(b.id, odd);
    ua.sendData(b.id, text);
    c.client.ws.send(encodeWsFrame(b.id, text), { binary: true });
    await waitFor(() => dropped('not_wireguard') === before + 3, 2000, 'not_wireguard counted');
    await markerCrosses(ua, a, ub, b);
    t.equal(ub.received.filter((p) => p.type === RELAY_DATA && (p.payload.equals(odd) || p.payload.equals(text))).length, 0);
  });

  t.test('DATA from an address that never bound is dropped', async (t) => {
    const before = dropped('unbound_source');
    const u = await udp();
    u.sendData(b.id, wgTransport(1));
    await waitFor(() => dropped('unbound_source') === before + 1, 2000, 'unbound_source counted');
    t.equal(u.received.length, 0, 'no answer at all');
  });

  t.test('malformed datagrams are counted, the relay keeps working', async (t) => {
    const before = dropped('malformed');
    const u = await udp();
    const junk = [Buffer.alloc(0), Buffer.from([0xd2, 0x5e, 0x1a, 0x01]), Buffer.from([0xd2, 0x5e, 0x1a, 0x01, 9, 9]), Buffer.alloc(1400, 0xff)];
    // A BIND whose id length runs past the end.
    const truncated = encodeBind(Buffer.alloc(12), a.id, a.token).subarray(0, 20);
    for (const d of [...junk, truncated]) u.send(d);
    await waitFor(() => dropped("malformed") === before + junk.length + 1, 2000, 'malformed counted');
    await markerCrosses(ua, a, ub, b);
  });

  t.test('unknown destination: UNREACHABLE on UDP, once per second; NO_SUCH_MEMBER on WebSocket, once per second', async (t) => {
    ua.sendData('nobody-by-that-id', wgTransport(1));
    ua.sendData('nobody-by-that-id', wgTransport(1));
    ua.sendData('nobody-by-that-id', wgTransport(1));
    await ua.next(isUnreachable('nobody-by-that-id'));
    t.equal(await ua.countAfter(200, isUnreachable('nobody-by-that-id')), 1, 'one UNREACHABLE for three packets');

    const errors = () => c.client.ofType('error').filter((e) => e.code === 'NO_SUCH_MEMBER').length;
    const before = errors();
    for (let i = 0; i < 3; i++) c.client.ws.send(encodeWsFrame('nobody-by-that-id', wgTransport(1)), { binary: true });
    const err = await c.client.next((m) => m.type === 'error' && m.code === 'NO_SUCH_MEMBER');
    t.equal(err.type === 'error' && err.member, 'nobody-by-that-id', 'the error names the member it is about');
    await c.client.sync();
    t.equal(errors(), before + 1, 'one error for three frames');
    t.equal(c.client.closeCode, undefined, 'and no strike worth closing for');
  });

  t.test('a member that disconnects is unbound at once', async (t) => {
    const e = await join(room);
    const ue = await udp();
    t.ok(await ue.bind(e.id, e.token));
    const bindings = server.metrics().relayBindings;
    e.client.close();
    await waitFor(() => server.metrics().relayBindings === bindings - 1, 2000, 'binding gone');
    ua.sendData(e.id, wgTransport(1));
    await ua.next(isUnreachable(e.id));
    t.notOk(await ue.bind(e.id, e.token, 300), 'its token no longer binds');
    t.equal(ue.received.filter((p) => p.type === RELAY_DATA).length, 0);
  });

  t.test('/metrics shows the relay', async (t) => {
    const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
    const sample = (name: string) => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1]);
    const s = server.metrics();
    t.equal(sample('wgp2p_relayed_packets_total{via="udp"}'), s.relayedPackets.udp);
    t.ok(s.relayedPackets.udp >= 6);
    t.equal(sample('wgp2p_relayed_packets_total{via="ws"}'), s.relayedPackets.ws);
    t.ok(s.relayedPackets.ws >= 2);
    t.equal(sample('wgp2p_relayed_bytes_total{via="ws"}'), s.relayedBytes.ws);
    for (const reason of ['bad_auth', 'not_allowed', 'not_wireguard', 'unbound_source', 'malformed', 'unreachable']) {
      t.ok(sample(`wgp2p_relay_dropped_total{reason="${reason}"}`) >= 1, `dropped: ${reason}`);
    }
    t.equal(sample('wgp2p_relay_bindings'), s.relayBindings);
    t.match(text, /# TYPE wgp2p_relay_bindings gauge/);
  });
});
