// IPv6 through an exit node on the in-memory JoinNet: an exit node that offers IPv6 (announced,
// signed) gets our ::/0 next to 0.0.0.0/0, so a member's IPv6 packets to the internet come out of
// its tunnel and the answers are accepted; one that does not offer gets no ::/0, so the packets
// reach no member at all (the host routes them into the tunnel: dropped, not leaked). An exit node
// replaced by one without IPv6 takes its ::/0 with it. `status` (JSON and text) shows whether an
// exit node's offer carries IPv6, on the exit node, on the member using it and next to each peer.
import t from 'tap';
import { parseAddress } from '../../shared/net/address.js';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';
import { ipv6Packet } from './fixtures/engine-net.js';
import { roomIpv6 } from '../join/room/room-ipv6.js';
import type { ExitRoutePort } from '../join/routes/exit-node.js';
import { defaultGateways, defaultRouteDevices } from '../join/routes/exit-route.js';
import { serverAddresses } from '../join/nat/stun-server.js';
import { deviceStatus, type DeviceStatus } from '../daemon/status.js';
import { formatStatus } from '../../cli/status.js';

const OUTSIDE6 = '2001:db8:77::20';
const OUTSIDE4 = '198.51.100.20';
const outsideBytes = Buffer.from(parseAddress(OUTSIDE6).bytes);

function carrier(at: JoinNode, address: string): string | undefined {
  const a = parseAddress(address);
  const peer = at.device.allowedIps.lookup(a.family, a.bytes);
  return peer && at.agent.members.get(peer.publicKey)?.name;
}

/** What `wgp2p status --json` answers at `node`. */
const statusOf = (node: JoinNode): DeviceStatus => node.agent.control.status(deviceStatus(node.device, 'jn'));
const peerVps = (s: DeviceStatus) => s.peers.find((p) => p.name === 'vps');

const stubRoute = (): ExitRoutePort => ({ up: async () => undefined, down: () => undefined });

/** IPv6 packets to OUTSIDE6 that came out of `node`'s tunnel. */
const outsideAt = (node: JoinNode) => node.tun.filter((p) => p[0]! >> 4 === 6 && p.subarray(24, 40).equals(outsideBytes)).length;

t.test('IPv6 goes through an exit node that offers it, and nowhere through one that does not', async (t) => {
  const lines: string[] = [];
  const net = new JoinNet('join-net', { logLevel: 'info', log: (l) => lines.push(l) });
  t.teardown(() => net.closeAll());
  const vps = await net.add('vps', { nat: 'public', agent: { routes: { advertiseExitNode: true, exitNodeIpv6: true } } });
  const laptop = await net.add('laptop', { agent: { routes: { exitNode: 'vps' } }, exitRoute: stubRoute() });
  const other = await net.add('other');
  t.ok((await net.until(() => carrier(laptop, OUTSIDE6) === 'vps' && laptop.agent.members.size === 2, 10_000)) >= 0, 'laptop: the IPv6 outside goes to vps');
  t.equal(carrier(laptop, OUTSIDE4), 'vps', 'and the IPv4 outside too');
  t.equal(carrier(other, OUTSIDE6), undefined, 'a member without --exit-node routes no IPv6 outside');
  t.ok(lines.some((l) => l.includes('default route through the exit node') && l.includes('through the exit node"')), 'logged with its IPv6');
  await net.until(() => laptop.agent.members.all().every((m) => m.finder.active), 10_000);
  const me6 = roomIpv6(laptop.agent.address);
  laptop.device.sendPacket(ipv6Packet(me6, OUTSIDE6, 'to the IPv6 internet'));
  await net.run(300);
  t.equal(outsideAt(vps), 1, 'the IPv6 packet comes out of the exit node\'s tunnel');
  t.equal(outsideAt(other), 0, 'and nowhere else');
  vps.device.sendPacket(ipv6Packet(OUTSIDE6, me6, 'the answer'));
  await net.run(300);
  t.ok(laptop.tun.some((p) => p[0]! >> 4 === 6 && p.subarray(8, 24).equals(outsideBytes)), 'and the IPv6 answer is accepted from it');
  const offering = statusOf(vps);
  t.match(offering.self, { advertisesExitNode: true, advertisesExitNodeIpv6: true }, 'vps status: it offers an exit node with IPv6');
  t.match(formatStatus(offering), /offers an exit node \(IPv4 and IPv6\)/);
  const using = statusOf(laptop);
  t.match(using.self, { exitNode: 'vps', exitNodeIpv6: true }, 'laptop status: its exit node carries its IPv6');
  t.match(peerVps(using), { offersExitNode: true, offersExitNodeIpv6: true }, 'and the peer vps offers IPv6');
  t.match(formatStatus(using), /exit node vps \(IPv4 and IPv6\)[^]*\n  vps [^\n]*  offers exit node \(IPv4 and IPv6\)\n/, 'in the text too');
  t.equal(peerVps(statusOf(other))?.offersExitNodeIpv6, true, 'a member not using it sees the offer as well');
  t.notMatch(formatStatus(statusOf(other)), /other[^\n]*offers exit node/, 'and no offer next to a member that makes none');

  // vps is replaced by a member of the same name that offers no IPv6: its ::/0 goes with it.
  net.close('vps');
  const vps4 = await net.add('vps', { nat: 'public', agent: { routes: { advertiseExitNode: true } } });
  t.ok((await net.until(() => carrier(laptop, OUTSIDE4) === 'vps' && laptop.agent.members.get(vps4.key.publicKey) !== undefined, 10_000)) >= 0, 'the IPv4-only exit node is used');
  t.equal(carrier(laptop, OUTSIDE6), undefined, 'but holds no ::/0');
  t.ok(lines.some((l) => l.includes('dropped (the exit node offers no IPv6)')), 'logged: IPv6 is dropped');
  await net.until(() => laptop.agent.members.all().every((m) => m.finder.active), 10_000);
  const before = laptop.agent.counters.get('exit_node_lost');
  laptop.device.sendPacket(ipv6Packet(me6, OUTSIDE6, 'must not leave'));
  await net.run(300);
  t.equal(outsideAt(vps4) + outsideAt(other), 0, 'the IPv6 packet reaches no member');
  t.equal(laptop.agent.counters.get('exit_node_lost'), before, 'the exit node stays in use for IPv4');
  t.match(statusOf(vps4).self, { advertisesExitNode: true, advertisesExitNodeIpv6: false }, 'vps status: an offer without IPv6');
  const ipv4Only = statusOf(laptop);
  t.match(ipv4Only.self, { exitNode: 'vps', exitNodeIpv6: false }, 'laptop status: its IPv6 does not go through vps');
  t.match(peerVps(ipv4Only), { offersExitNode: true, offersExitNodeIpv6: false });
  t.match(formatStatus(ipv4Only), /exit node vps \(IPv4 only, IPv6 dropped\)[^]*  vps [^\n]*offers exit node \(IPv4 only\)/, 'in the text too');
});

t.test('the host\'s IPv6 uplinks and gateways are read from ip route', async (t) => {
  const show6 = 'default via fe80::1 dev eth0 proto ra metric 100 pref medium\ndefault via fe80::9 dev wlan0 metric 600\nfd00:1::/64 dev eth0\n';
  t.same(defaultGateways(show6, 6), ['fe80::1', 'fe80::9']);
  t.same(defaultGateways(show6), [], 'IPv4 gateways only by default');
  t.same(defaultRouteDevices(show6), ['eth0', 'wlan0']);
  t.same(defaultRouteDevices('default dev ppp0 scope link\n'), ['ppp0']);
});

t.test('the signal server stays outside in both families: all its addresses are kept direct', async (t) => {
  t.same(await serverAddresses('ws://[2001:db8:5::10]:8080/ws'), ['2001:db8:5::10'], 'an IPv6 literal');
  t.same(await serverAddresses('wss://203.0.113.10/ws'), ['203.0.113.10'], 'an IPv4 literal');
  t.ok((await serverAddresses('ws://localhost:8080/ws')).includes('127.0.0.1'), 'a name: every address it resolves to');
});
