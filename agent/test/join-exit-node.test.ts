// Exit nodes on the in-memory JoinNet: `--exit-node NAME` gives the member that offers it
// (--advertise-exit-node) our 0.0.0.0/0 and turns the host's default route into the tunnel;
// losing it takes both back at once (no black hole) and says so; a member that does not offer,
// or a name two offering members share, is never used.
import t from 'tap';
import { parseAddress } from '../../shared/net/address.js';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';
import { ipv4Packet } from './fixtures/engine-net.js';
import type { ExitRoutePort } from '../join/routes/exit-node.js';
import { defaultGateways } from '../join/routes/exit-route.js';

const OUTSIDE = '198.51.100.20';

function carrier(at: JoinNode, address: string): string | undefined {
  const peer = at.device.allowedIps.lookup(4, parseAddress(address).bytes);
  return peer && at.agent.members.get(peer.publicKey)?.name;
}

/** A host default route that records whether it is up. */
function fakeRoute(): ExitRoutePort & { on: boolean; ups: number } {
  const r = {
    on: false,
    ups: 0,
    up: async () => {
      r.on = true;
      r.ups++;
    },
    down: () => void (r.on = false),
  };
  return r;
}

t.test('the default route goes through the named exit node and comes back when it leaves', async (t) => {
  const lines: string[] = [];
  const net = new JoinNet('join-net', { logLevel: 'info', log: (l) => lines.push(l) });
  t.teardown(() => net.closeAll());
  const route = fakeRoute();
  const vps = await net.add('vps', { nat: 'public', agent: { routes: { advertiseExitNode: true } } });
  const laptop = await net.add('laptop', { agent: { routes: { exitNode: 'vps' } }, exitRoute: route });
  const other = await net.add('other');
  t.ok((await net.until(() => carrier(laptop, OUTSIDE) === 'vps' && laptop.agent.members.size === 2, 10_000)) >= 0, 'laptop: the outside goes to vps');
  t.ok(route.on, 'the host default route is up');
  t.equal(laptop.agent.routes.status().exitNode, 'vps', 'status names the exit node');
  t.equal(carrier(laptop, other.agent.address), 'other', 'room members still go straight to each other');
  t.equal(carrier(other, OUTSIDE), undefined, 'a member without --exit-node routes nothing outside');
  await net.until(() => laptop.agent.members.all().every((m) => m.finder.active), 10_000);
  laptop.device.sendPacket(ipv4Packet(laptop.agent.address, OUTSIDE, 'to the internet'));
  await net.run(300);
  t.ok(vps.tun.some((p) => p.subarray(16, 20).equals(Buffer.from(parseAddress(OUTSIDE).bytes))), 'the packet comes out of the exit node\'s tunnel');
  vps.device.sendPacket(ipv4Packet(OUTSIDE, laptop.agent.address, 'the answer'));
  await net.run(300);
  t.ok(laptop.tun.some((p) => p.subarray(12, 16).equals(Buffer.from(parseAddress(OUTSIDE).bytes))), 'and the answer is accepted from it');

  net.close('vps');
  t.ok((await net.until(() => !route.on, 5_000)) >= 0, 'the host default route is taken down when the exit node leaves');
  t.equal(carrier(laptop, OUTSIDE), undefined, 'and the engine no longer sends the outside into the room');
  t.ok(lines.some((l) => l.includes('exit node gone; normal routing restored')), 'logged');
  t.equal(laptop.agent.counters.get('exit_node_lost'), 1);
  t.equal(laptop.agent.routes.status().exitNode, undefined);

  // A new member under that name that offers it: used again.
  await net.add('vps', { nat: 'public', agent: { routes: { advertiseExitNode: true } } });
  t.ok((await net.until(() => carrier(laptop, OUTSIDE) === 'vps' && route.on, 10_000)) >= 0, 'a returning exit node is used again');
  t.equal(route.ups, 2);
});

t.test('never a member that does not offer, nor a name two offering members share', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const route = fakeRoute();
  const laptop = await net.add('laptop', { agent: { routes: { exitNode: 'vps' } }, exitRoute: route });
  await net.add('vps'); // no offer
  await net.until(() => laptop.agent.members.size === 1, 10_000);
  await net.run(1_000);
  t.equal(carrier(laptop, OUTSIDE), undefined, 'a member that does not offer is not used');
  t.notOk(route.on);
  const x = await net.add('vps', { agent: { routes: { advertiseExitNode: true } } });
  await net.until(() => carrier(laptop, OUTSIDE) === 'vps', 10_000);
  t.equal(carrier(laptop, OUTSIDE), 'vps', 'the one offering is used');
  await net.add('vps', { agent: { routes: { advertiseExitNode: true } } }); // an insider copies the name
  t.ok((await net.until(() => carrier(laptop, OUTSIDE) === undefined && !route.on, 10_000)) >= 0, 'two offering under one name: neither');
  const byKey = await net.add('laptop2', { agent: { routes: { exitNode: x.key.publicKey.toString('base64') } }, exitRoute: fakeRoute() });
  t.ok((await net.until(() => carrier(byKey, OUTSIDE) === 'vps' && byKey.device.allowedIps.lookup(4, parseAddress(OUTSIDE).bytes)!.publicKey.equals(x.key.publicKey), 10_000)) >= 0, 'chosen by key, the name clash does not matter');
});

t.test('the host keeps its gateways on the main table: they are read from ip route', async (t) => {
  t.same(defaultGateways('default via 10.1.0.1 dev eth0 proto dhcp metric 100\ndefault via 192.168.9.1 dev wlan0 metric 600\n10.1.0.0/24 dev eth0 scope link\n'), ['10.1.0.1', '192.168.9.1']);
  t.same(defaultGateways('default dev ppp0 scope link\n'), []);
});
