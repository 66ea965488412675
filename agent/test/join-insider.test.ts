// An insider (a member holding the room secret) attacks another pair on the in-memory JoinNet
// (fixtures/join-net.ts). The room secret admits it to the room, never to the pair's traffic:
// each test tries an attack and checks it fails.
import t, { type Test } from 'tap';
import { hkdfSync, randomBytes } from 'node:crypto';
import { makeEndpoint, sameEndpoint, type Endpoint } from '../../shared/net/address.js';
import { DISCO_PING, peekDisco } from '../../shared/wire/disco.js';
import { encodePing, encodePong } from '../join/paths/direct/disco.js';
import { sealBye, sealPunchRequest } from '../join/room/peer-message.js';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';
import { ipv4Packet } from './fixtures/engine-net.js';

function member(at: JoinNode, of: JoinNode) {
  return at.agent.members.get(of.key.publicKey);
}

/** Lets the insider see the datagrams that reach it, before its own agent does. */
function tap(x: JoinNode, fn: (data: Buffer, from: Endpoint) => boolean): void {
  const own = x.agent.onDatagram.bind(x.agent);
  x.agent.onDatagram = (data, from) => fn(data, from) || own(data, from);
}

/** Every pair key an insider can compute from the room key and the two public keys alone. */
function publicOnlyGuesses(roomKey: Uint8Array, a: Buffer, b: Buffer) {
  const salt = Buffer.concat(Buffer.compare(a, b) < 0 ? [a, b] : [b, a]);
  const hk = (ikm: Uint8Array, label: string, v: string, n: number) => Buffer.from(hkdfSync('sha256', ikm, salt, `wgp2p pair ${label} ${v}`, n));
  return ['v1', 'v2'].map((v) => {
    const psk = hk(roomKey, 'psk', v, 32);
    return { discoKey: hk(psk, 'disco key', v, 32), pairId: hk(psk, 'disco id', v, 8) };
  });
}

/** A pair a, b and the insider x on a fresh JoinNet, closed when `t` ends. */
async function pairAndInsider(t: Test): Promise<{ net: JoinNet; a: JoinNode; b: JoinNode; x: JoinNode }> {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  return { net, a: await net.add('a'), b: await net.add('b'), x: await net.add('x') };
}

t.test('an insider cannot forge disco probes that move a pair\'s WireGuard endpoint to it', async (t) => {
  const { net, a, b, x } = await pairAndInsider(t);
  const direct = () => [b, x].every((p) => !!member(a, p) && a.agent.arbiters.route(member(a, p)!) === 'direct');
  t.ok((await net.until(direct, 10_000)) >= 0, 'a reaches b and x directly');
  const xAtA = a.device.getPeer(x.key.publicKey)!.endpoint!;
  const aAtX = x.device.getPeer(a.key.publicKey)!.endpoint!;
  const bSide = Buffer.compare(b.key.publicKey, a.key.publicKey) < 0 ? 0 : 1;
  const guesses = publicOnlyGuesses(net.room.key, a.key.publicKey, b.key.publicKey);
  // Answer a's probes for the pair a-b as if x were b.
  tap(x, (data, from) => {
    const h = peekDisco(data);
    const g = h && guesses.find((k) => k.pairId.equals(h.pairId));
    if (!h || !g || h.type !== DISCO_PING) return false;
    x.agent.ports.tunnel.sendDatagram(encodePong(g.discoKey, bSide, g.pairId, h.txid, from), from);
    return true;
  });
  // b goes quiet (the insider may as well make it so), then x pings a as b.
  net.cut('a', 'b');
  await net.run(3_500);
  for (const g of guesses) x.agent.ports.tunnel.sendDatagram(encodePing(g.discoKey, bSide, g.pairId, Buffer.alloc(12, 7)), aAtX);
  await net.run(1_000);
  const endpoint = a.device.getPeer(b.key.publicKey)!.endpoint;
  t.notOk(endpoint && sameEndpoint(endpoint, xAtA), 'a\'s peer b does not point at the insider');
  t.ok((a.agent.counters.get('disco_unknown_pair') ?? 0) > 0, 'a did not recognise the forged pair');
});

t.test('a self-declared hub gets no traffic from members that did not choose it (--use-hub)', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const h = await net.add('h', { nat: 'public', agent: { hub: true } });
  const a = await net.add('a', { nat: 'symmetric' });
  const b = await net.add('b', { nat: 'symmetric' });
  const hubDirect = () => [a, b].every((m) => !!member(m, h) && m.agent.arbiters.route(member(m, h)!) === 'direct');
  t.ok((await net.until(hubDirect, 10_000)) >= 0, 'both reach the self-declared hub directly');
  net.setServer(false); // no relay either: the hub would be the only way
  await net.run(30_000, 50);
  t.equal(a.agent.arbiters.route(member(a, b)!), 'none', 'a does not go through a hub it did not choose');
  h.tun.length = 0;
  a.device.sendPacket(ipv4Packet(a.agent.address, b.agent.address, 'for b only'));
  a.device.sendPacket(ipv4Packet(a.agent.address, '10.147.250.250', 'for nobody'));
  await net.run(200);
  t.equal(h.tun.length, 0, 'the hub sees none of a\'s room traffic');
});

t.test('a captured disco ping replayed later from a forged source makes no one probe that source', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const a = await net.add('a');
  const b = await net.add('b');
  t.ok((await net.until(() => !!member(a, b) && a.agent.arbiters.route(member(a, b)!) === 'direct', 10_000)) >= 0);
  const pairId = member(a, b)!.keys.pairId;
  let captured: Buffer | undefined;
  tap(a, (data) => {
    const h = peekDisco(data);
    if (!captured && h?.type === DISCO_PING && h.pairId.equals(pairId)) captured = Buffer.from(data);
    return false;
  });
  await net.run(3_000);
  t.ok(captured, 'a ping of b to a, as seen on the wire');
  // Long enough for hundreds of newer pings, so a bounded replay memory has forgotten it.
  await net.run(10 * 60_000, 250);
  const victim = makeEndpoint('198.51.100.77', 4242);
  let toVictim = 0;
  const tunnel = a.agent.ports.tunnel;
  const send = tunnel.sendDatagram.bind(tunnel);
  tunnel.sendDatagram = (d, to) => {
    if (sameEndpoint(to, victim)) toVictim++;
    send(d, to);
  };
  a.agent.onDatagram(captured!, victim);
  await net.run(10_000, 50);
  t.equal(toVictim, 0, 'a sent nothing to the forged source');
});

t.test('a goodbye or punch request forged by a third member (injected under the sender\'s id) is refused and counted', async (t) => {
  const { net, a, b, x } = await pairAndInsider(t);
  t.ok((await net.until(() => [b, x].every((p) => !!member(a, p)) && !!member(x, b), 10_000)) >= 0, 'everyone knows everyone');
  const bAtA = member(a, b)!;
  const from = bAtA.memberId;
  const to = a.agent.ports.signal.memberId!;
  // x holds the room key and its own pair keys, never a's and b's: the best key it has is its own with a.
  const xKey = member(x, a)!.keys.messageKey;
  // As an on-path insider (or a server helping one) would deliver them: under b's member id.
  const inject = (data: string) => a.agent.signalling.onServerMessage({ type: 'message', room: net.room.roomId, from, data });
  inject(sealBye(net.room, { publicKey: b.key.publicKey, from, to }, xKey));
  inject(sealBye(net.room, { publicKey: b.key.publicKey, from, to }, randomBytes(32)));
  inject(sealPunchRequest(net.room, { publicKey: b.key.publicKey, from, to, session: 'forged', candidates: [{ kind: 'public', endpoint: makeEndpoint('198.51.100.77', 4242) }], startInMs: 0 }, xKey));
  await net.run(2_000);
  t.equal(member(a, b), bAtA, 'a still has b');
  t.equal(a.agent.counters.get('message_rejected_bad_mac'), 3, 'the three forgeries are refused and counted');
  t.notOk(bAtA.candidates.some((c) => c.endpoint.address === '198.51.100.77'), 'the forged punch request\'s candidates are not taken');
  // b's own goodbye still works.
  net.close('b');
  t.ok((await net.until(() => !member(a, b), 2_000)) >= 0, 'b\'s real goodbye removes it');
});
