// Whole join agents on the in-memory JoinNet (fixtures/join-net.ts): real agents and engines, the
// real RoomHub and relay core, NATs on a fake wire, fake time. Each scenario runs in well under a
// second of real time.
import t, { type Test } from 'tap';
import { isRelayEndpoint } from '../join/paths/relay/relay-endpoint.js';
import { ORPHAN_GRACE_MS } from '../join/room/lifecycle.js';
import type { Route } from '../join/paths/arbiter.js';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';
import { peer, reaches } from './fixtures/join-reach.js';

function member(at: JoinNode, of: JoinNode) {
  return at.agent.members.get(of.key.publicKey);
}

function route(at: JoinNode, of: JoinNode): Route | 'absent' {
  const m = member(at, of);
  return m ? at.agent.arbiters.route(m) : 'absent';
}

async function pair(t: Test, nat: 'eim' | 'symmetric' = 'eim') {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const a = await net.add('a', { nat });
  const b = await net.add('b', { nat });
  return { net, a, b };
}

t.test('two members behind endpoint-independent NATs find a direct path and carry traffic', async (t) => {
  const { net, a, b } = await pair(t);
  const took = await net.until(() => route(a, b) === 'direct' && route(b, a) === 'direct', 10_000);
  t.ok(took >= 0, `direct both ways after ${took} ms of fake time`);
  t.ok(await reaches(net, a, b), 'a reaches b');
  t.ok(await reaches(net, b, a), 'b reaches a');
  t.notOk(isRelayEndpoint(peer(a, b)!.endpoint!), 'the peer points at a real address');
});

t.test('a relay takes over when the direct path dies; direct comes back on the same WireGuard session', async (t) => {
  const { net, a, b } = await pair(t);
  t.ok((await net.until(() => route(a, b) === 'direct' && route(b, a) === 'direct', 10_000)) >= 0);
  t.ok(await reaches(net, a, b));
  const session = peer(a, b)!.current!.localIndex;
  const handshakeAt = peer(a, b)!.stats.lastHandshakeWall;
  net.cut('a', 'b');
  t.ok((await net.until(() => route(a, b) === 'relay' && route(b, a) === 'relay', 30_000)) >= 0, 'both relay');
  t.ok(isRelayEndpoint(peer(a, b)!.endpoint!), 'the peer points at the relay');
  t.ok(await reaches(net, a, b), 'traffic flows through the relay');
  net.restore('a', 'b');
  t.ok((await net.until(() => route(a, b) === 'direct' && route(b, a) === 'direct', 60_000)) >= 0, 'direct again');
  t.ok(await reaches(net, a, b), 'traffic flows direct again');
  t.equal(peer(a, b)!.current!.localIndex, session, 'the same keypair: no new handshake');
  t.equal(peer(a, b)!.stats.lastHandshakeWall, handshakeAt, 'no handshake since');
});

t.test('symmetric NATs on both ends: relayed, traffic flows', async (t) => {
  const { net, a, b } = await pair(t, 'symmetric');
  t.ok((await net.until(() => route(a, b) === 'relay' && route(b, a) === 'relay', 20_000)) >= 0);
  t.ok(await reaches(net, a, b));
  t.ok(await reaches(net, b, a));
});

t.test('orphan grace: the server going away leaves working links alone', async (t) => {
  const { net, a, b } = await pair(t);
  t.ok((await net.until(() => route(a, b) === 'direct' && route(b, a) === 'direct', 10_000)) >= 0);
  net.setServer(false);
  await net.run(ORPHAN_GRACE_MS + 10_000, 50);
  t.equal(route(a, b), 'direct', 'a keeps b');
  t.equal(route(b, a), 'direct', 'b keeps a');
  t.ok(await reaches(net, a, b));
  net.setServer(true);
  t.ok((await net.until(() => !!a.signal.memberId && !!b.signal.memberId, 5_000)) >= 0, 'both back at the server');
  await net.run(2_000);
  t.equal(member(a, b)?.memberId, b.signal.memberId, 'a knows b by its new member id');
});

t.test('a member that vanishes is dropped after the orphan grace; one that says goodbye at once', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const a = await net.add('a');
  const b = await net.add('b');
  const c = await net.add('c');
  t.ok((await net.until(() => route(a, b) === 'direct' && route(a, c) === 'direct', 10_000)) >= 0);
  net.close('b');
  t.ok((await net.until(() => route(a, b) === 'absent', 1_000)) >= 0, 'goodbye: removed at once');
  t.notOk(peer(a, b), 'its WireGuard peer is gone');
  net.vanish('c');
  await net.run(ORPHAN_GRACE_MS - 5_000, 50);
  t.ok(member(a, c), 'still kept: its path answered until a few seconds after it vanished');
  t.ok((await net.until(() => route(a, c) === 'absent', 30_000)) >= 0, 'dropped once its path is dead for the grace');
});

t.test('address collision: the later claim moves to its next address', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const a = await net.add('a', { address: '10.147.0.9' });
  const b = await net.add('b', { address: '10.147.0.9' });
  const [low, high] = [a, b]; // a held it first (see join-address-squat.test.ts for the rest)
  t.ok((await net.until(() => high.agent.address !== '10.147.0.9', 5_000)) >= 0, 'the later claim moved');
  t.equal(low.agent.address, '10.147.0.9', 'the first holder keeps it');
  t.ok((await net.until(() => member(low, high)?.address === high.agent.address && member(low, high)?.routed === high.agent.address, 5_000)) >= 0, 'its new address is announced and routed');
  await net.until(() => route(a, b) === 'direct' && route(b, a) === 'direct', 10_000);
  t.ok(await reaches(net, low, high));
  t.ok(await reaches(net, high, low));
});

t.test('hub choice: with no direct path and no relay, a member is reached through the hub', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const h = await net.add('h', { nat: 'public', agent: { hub: true } });
  const a = await net.add('a', { nat: 'symmetric', agent: { useHub: 'h' } });
  const b = await net.add('b', { nat: 'symmetric', agent: { useHub: 'h' } });
  t.ok((await net.until(() => route(a, h) === 'direct' && route(b, h) === 'direct', 10_000)) >= 0, 'both reach the hub directly');
  // No relay reaches either: the server relays nothing now.
  net.setServer(false);
  t.ok((await net.until(() => route(a, b) === 'hub', 60_000)) >= 0, 'a goes through the hub');
  t.equal(member(a, b)!.routed, undefined, 'b has no route of its own at a: its address falls to the hub');
});

t.test('sleep and wake: a wall clock jump re-discovers every path', async (t) => {
  const { net, a, b } = await pair(t);
  t.ok((await net.until(() => route(a, b) === 'direct' && member(a, b)!.finder.state === 'settled', 10_000)) >= 0, 'settled on a direct path');
  await net.run(5_000);
  t.equal(member(a, b)!.finder.state, 'settled', 'nothing to do while awake');
  net.sleep(60_000);
  // The agent's clock sleeps at most 5 s (tick.ts MAX_SLEEP_MS): its next tick finds the jump.
  t.ok((await net.until(() => member(a, b)!.finder.state === 'punching', 5_100, 10)) >= 0, 'a punches again after waking');
  t.ok((await net.until(() => route(a, b) === 'direct' && member(a, b)!.finder.state === 'settled', 15_000)) >= 0, 'and settles on a direct path again');
});

t.test('a bounce relays for members that cannot punch, its bindings proven by CHALLENGE', async (t) => {
  const net = new JoinNet('bounce room', { serverRelay: false });
  t.teardown(() => net.closeAll());
  const c = await net.add('c', { nat: 'public', agent: { bounce: true } });
  const a = await net.add('a', { nat: 'symmetric' });
  const b = await net.add('b', { nat: 'symmetric' });
  t.ok((await net.until(() => route(a, b) === 'relay' && route(b, a) === 'relay', 20_000)) >= 0, 'relayed both ways');
  t.match(a.agent.relayed.info(member(a, b)!)?.relay, 'c', 'through the bounce');
  t.ok(await reaches(net, a, b));
  t.ok(await reaches(net, b, a));
  const counters = c.agent.bounce!.counters();
  t.ok(counters.bounce_challenges! >= 2, 'each binding answered a CHALLENGE first');
  t.ok(counters.bounce_relayed_packets! > 0);
});
