// The relay under load and abuse, and switched off: relayed frames have a byte budget of their
// own (a flood of them neither trips the JSON frame limits nor slows others' signalling),
// garbage is counted and survived, and without the WebSocket relay binary frames are refused as
// before.
import dgram from 'node:dgram';
import t from 'tap';
import { encodeWsFrame, RELAY_DATA, RELAY_UNREACHABLE } from '../../shared/wire/relay.js';
import { roomId, sleep, startTestServer, TestClient, waitFor } from './helpers.js';
import { member, serverWithPair, UdpPeer, wgTransport } from './relay-helpers.js';

const SERVED_MS = 250;

t.test('5000 relayed frames per second from one connection: no JSON rate limit, others served', async (t) => {
  const server = await startTestServer({ messageRate: 20, messageBurst: 100, addressMessageRate: 200, addressMessageBurst: 2000 });
  const room = roomId();
  const flooder = await member(server, room);
  const sink = await member(server, room);
  const bystander = await TestClient.join(server.url);
  t.teardown(async () => {
    [flooder.client, sink.client, bystander].forEach((c) => c.close());
    await server.close();
  });
  const payload = wgTransport(2);
  const frame = encodeWsFrame(sink.id, payload);
  const rtts: number[] = [];
  let flooding = true;
  const probe = (async () => {
    while (flooding) {
      const start = performance.now();
      await bystander.sync();
      rtts.push(performance.now() - start);
      await sleep(20);
    }
  })();
  const start = performance.now();
  for (let burst = 0; burst < 10; burst++) {
    for (let i = 0; i < 500; i++) flooder.client.ws.send(frame, { binary: true });
    await sleep(100);
  }
  const congested = () => server.metrics().relayDropped.ws_congested ?? 0;
  await waitFor(() => sink.client.binary.length + congested() === 5000, 10_000, 'every frame delivered or counted');
  const elapsed = performance.now() - start;
  flooding = false;
  await probe;
  t.ok(sink.client.binary.length >= 4500, `${sink.client.binary.length} of 5000 frames arrived in ${elapsed.toFixed(0)} ms`);
  t.ok(sink.client.binary.every((b) => b.equals(encodeWsFrame(flooder.id, payload))), 'each with the source id in front');
  await flooder.client.sync();
  t.equal(flooder.client.closeCode, undefined, 'the flooder is still connected');
  t.equal(flooder.client.ofType('error').length, 0, 'and was not told it is rate limited');
  t.equal(server.metrics().rejectedFrames.RATE_LIMITED ?? 0, 0);
  t.equal(server.metrics().rejectedFrames.RATE_LIMITED_ADDRESS ?? 0, 0, 'nor is its address');
  t.equal(server.metrics().relayedPackets.ws, sink.client.binary.length);
  t.ok(rtts.length > 0 && Math.max(...rtts) < SERVED_MS, `a bystander's pings answered, worst ${Math.max(...rtts).toFixed(1)} ms`);
});

t.test('relayed bytes have a budget per member, on WebSocket and on UDP', async (t) => {
  const { server, a, b } = await serverWithPair(t, { relay: true, relayPort: 0, relayBytesPerSecond: 1000, relayBurstBytes: 2000 });
  const ua = await UdpPeer.open(server.relay!.port);
  const ub = await UdpPeer.open(server.relay!.port);
  t.teardown(() => {
    ua.close();
    ub.close();
  });
  const payload = wgTransport(30); // 512 bytes
  for (let i = 0; i < 10; i++) a.client.ws.send(encodeWsFrame(b.id, payload), { binary: true });
  await waitFor(() => (server.metrics().relayDropped.ws_rate_limited ?? 0) >= 6, 2000, 'WebSocket budget spent');
  await a.client.sync();
  t.ok(b.client.binary.length <= 4, `${b.client.binary.length} of 10 frames passed`);
  t.equal(a.client.closeCode, undefined, 'over budget is dropped, not punished');

  t.ok(await ua.bind(a.id, a.token));
  t.ok(await ub.bind(b.id, b.token));
  for (let i = 0; i < 10; i++) ua.sendData(b.id, payload);
  await waitFor(() => (server.metrics().relayDropped.rate_limited ?? 0) >= 6, 2000, 'UDP budget spent');
  t.ok((await ub.countAfter(100, (p) => p.type === RELAY_DATA)) <= 4, 'UDP limited too');
});

t.test('garbage and oversized binary frames: counted, survived, closed only when they keep coming', async (t) => {
  const { server, room, a, b } = await serverWithPair(t, { maxStrikes: 10 });
  const malformed = () => server.metrics().relayDropped.ws_malformed ?? 0;
  const garbage = [
    Buffer.alloc(0),
    Buffer.from([0]),
    Buffer.from([5, 0x61]), // id longer than the frame
    Buffer.concat([Buffer.from([3]), Buffer.from('a/b'), wgTransport(0)]), // not an id
    Buffer.concat([Buffer.from([200]), Buffer.alloc(300, 0x61)]),
    Buffer.from([b.id.length, ...Buffer.from(b.id)]), // no payload
  ];
  for (const g of garbage) a.client.ws.send(g, { binary: true });
  await a.client.sync();
  t.equal(malformed(), garbage.length, 'each malformed frame counted');
  t.equal(a.client.closeCode, undefined, 'a few do not close the connection');
  t.equal(a.client.ofType('error').length, 0, 'and get no reply');

  // The largest frame allowed: random bytes after a valid id are not a WireGuard message.
  const big = Buffer.alloc(16 * 1024 - 1 - b.id.length, 0xab);
  a.client.ws.send(encodeWsFrame(b.id, big), { binary: true });
  // ... a WireGuard-shaped one of nearly that size is relayed.
  const wg = wgTransport(Math.floor((16 * 1024 - 1 - b.id.length - 32) / 16));
  a.client.ws.send(encodeWsFrame(b.id, wg), { binary: true });
  await b.client.nextBinary((f) => f.equals(encodeWsFrame(a.id, wg)));
  t.equal(server.metrics().relayDropped.not_wireguard, 1);

  const oversized = await member(server, room);
  oversized.client.ws.send(Buffer.alloc(20_000, 1), { binary: true });
  t.equal(await oversized.client.closed, 1009, 'a frame over the size limit closes with 1009, as any frame');

  const spammer = await member(server, room);
  for (let i = 0; i < 12; i++) spammer.client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  t.equal(await spammer.client.closed, 1008, 'a stream of garbage is abuse');
  await waitFor(() => server.metrics().disconnects.abuse === 1);

  const res = await fetch(`${server.httpUrl}/healthz`);
  t.equal(res.status, 200, 'the process is fine');
  await a.client.sync();
});

t.test('without --relay: the WebSocket relay alone, no UDP socket', async (t) => {
  const { server, a, b } = await serverWithPair(t, { stunPort: 0 });
  t.equal(server.relay, undefined, 'no UDP relay by default');
  t.equal(a.welcome.relayPort, undefined);
  t.equal(a.welcome.relayToken, undefined);
  t.equal(a.welcome.wsRelay, true, 'the WebSocket relay is on by default');
  t.equal(a.welcome.stunPort, server.stun!.port);
  const p = wgTransport(1);
  a.client.ws.send(encodeWsFrame(b.id, p), { binary: true });
  await b.client.nextBinary((f) => f.equals(encodeWsFrame(a.id, p)));
  t.equal(server.metrics().relayedPackets.ws, 1);

  const stranger = await member(server, roomId());
  stranger.client.ws.send(encodeWsFrame(b.id, p), { binary: true });
  await waitFor(() => server.metrics().relayDropped.not_allowed === 1, 2000, 'not_allowed counted');

  b.client.close();
  await b.client.closed;
  await waitFor(() => server.metrics().connectedAgents === 2);
  a.client.ws.send(encodeWsFrame(b.id, p), { binary: true });
  const err = await a.client.next((m) => m.type === 'error');
  t.equal(err.type === 'error' && err.code, 'NO_SUCH_MEMBER', 'a member that left is reported');
  stranger.client.close();

  const early = await TestClient.connect(server.url);
  t.teardown(() => early.close());
  early.ws.send(encodeWsFrame(a.id, p), { binary: true });
  await early.next((m) => m.type === 'error' && m.code === 'BINARY_UNSUPPORTED');
  t.pass('binary before hello: BINARY_UNSUPPORTED');
});

t.test('--no-ws-relay: binary frames refused as before; the UDP relay does not fall back to WebSocket', async (t) => {
  const { server, a, b } = await serverWithPair(t, { relay: true, relayPort: 0, wsRelay: false });
  const ua = await UdpPeer.open(server.relay!.port);
  t.teardown(() => ua.close());
  t.equal(a.welcome.wsRelay, undefined, 'welcome does not offer it');
  t.equal(a.welcome.relayPort, server.relay!.port);
  a.client.ws.send(encodeWsFrame(b.id, wgTransport(1)), { binary: true });
  await a.client.next((m) => m.type === 'error' && m.code === 'BINARY_UNSUPPORTED');
  t.equal(server.metrics().rejectedFrames.BINARY_UNSUPPORTED, 1);
  t.ok(await ua.bind(a.id, a.token));
  ua.sendData(b.id, wgTransport(1));
  await ua.next((p) => p.type === RELAY_UNREACHABLE && p.id === b.id);
  t.equal(b.client.binary.length, 0, 'b, not bound, is unreachable');
});

t.test('a relay port in use: the server does not start, and leaves nothing open', async (t) => {
  const blocker = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => blocker.bind(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  await t.rejects(startTestServer({ relay: true, relayPort: blocker.address().port, stunPort: 0 }), /EADDRINUSE/);
});
