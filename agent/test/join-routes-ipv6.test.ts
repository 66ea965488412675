// IPv6 subnet routes on the in-memory JoinNet: members' IPv6 room addresses are derived from
// their IPv4 ones (room-ipv6.ts) and routed to their owners like them; an advertised IPv6 LAN
// prefix is routed through its member at members with --accept-routes, both ways; IPv6 prefixes
// overlapping the room's IPv6 space, our LANs or special space are refused.
import t from 'tap';
import { parseAddress, parsePrefix } from '../../shared/net/address.js';
import { ROOM_IPV6_PREFIX, roomIpv6, roomSubnet6 } from '../join/room/room-ipv6.js';
import { parseSubnet } from '../join/room/room-address.js';
import { chooseRoutes, lanConflicts } from '../join/routes/route-choice.js';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';
import { ipv6Packet } from './fixtures/engine-net.js';

const LAN6 = '2001:db8:77::/64';
const LAN_HOST6 = '2001:db8:77::5';

function carrier(at: JoinNode, address: string): string | undefined {
  const peer = at.device.allowedIps.lookup(6, parseAddress(address).bytes);
  return peer && at.agent.members.get(peer.publicKey)?.name;
}

const got = (n: JoinNode, at: number, address: string) => n.tun.some((p) => p[0]! >> 4 === 6 && Buffer.from(p.subarray(at, at + 16)).equals(Buffer.from(parseAddress(address).bytes)));
const everyoneSees = (net: JoinNet, n: number) => () => [...net.nodes.values()].every((x) => x.agent.members.size === n - 1 && x.agent.members.all().every((m) => m.finder.active));

t.test('IPv6 room addresses: the IPv4 address under one unique-local /96', async (t) => {
  t.equal(roomIpv6('10.147.3.4'), 'fd77:7770:2a00::a93:304');
  t.equal(roomSubnet6(parseSubnet('10.147.0.0/16')), 'fd77:7770:2a00::a93:0/112');
  t.equal(roomSubnet6(parseSubnet('100.64.0.0/10')), 'fd77:7770:2a00::6440:0/106');
  t.equal(parsePrefix(ROOM_IPV6_PREFIX).bits, 96);
});

t.test('an advertised IPv6 prefix is routed through its member with --accept-routes, both ways', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const router = await net.add('router', { agent: { routes: { advertise: ['192.168.77.0/24', LAN6] } } });
  const laptop = await net.add('laptop', { agent: { routes: { accept: true } } });
  const routes = new Set<string>();
  laptop.agent.ports.tunnel.addRoute = async (cidr) => void routes.add(cidr);
  const other = await net.add('other');
  t.ok((await net.until(everyoneSees(net, 3), 10_000)) >= 0, 'all paths direct');
  t.equal(carrier(laptop, LAN_HOST6), 'router', `laptop: ${LAN_HOST6} goes to the router`);
  t.ok(routes.has(LAN6), 'laptop: an IPv6 route into the tunnel');
  t.same(laptop.agent.routes.status().acceptedRoutes?.map((r) => r.prefix).sort(), ['192.168.77.0/24', LAN6].sort());
  t.equal(carrier(other, LAN_HOST6), undefined, 'other (no --accept-routes): not routed');
  const from = roomIpv6(laptop.agent.address);
  t.equal(carrier(router, from), 'laptop', "the router routes the laptop's IPv6 room address to the laptop");
  laptop.device.sendPacket(ipv6Packet(from, LAN_HOST6, 'to the lan'));
  await net.run(200);
  t.ok(got(router, 24, LAN_HOST6), 'the router got the packet for the IPv6 LAN host (its source allowed)');
  router.device.sendPacket(ipv6Packet(LAN_HOST6, from, 'from the lan'));
  await net.run(200);
  t.ok(got(laptop, 8, LAN_HOST6), 'the laptop accepts the LAN host as a source from the router');
  // other may not send from the laptop's IPv6 room address: the router drops it.
  const before = router.tun.length;
  other.device.sendPacket(ipv6Packet(from, roomIpv6(router.agent.address), 'spoofed'));
  await net.run(200);
  t.equal(router.tun.length, before, "a packet from the laptop's IPv6 address sent by other is dropped");
});

t.test('IPv6 prefixes overlapping the room, our LANs or special space are refused', async (t) => {
  const lines: string[] = [];
  const net = new JoinNet('join-net', { logLevel: 'info', log: (l) => lines.push(l) });
  t.teardown(() => net.closeAll());
  const laptop = await net.add('laptop', { agent: { routes: { accept: true } } });
  const hostile = ['fd77:7770:2a00::a93:0/112', 'fd77::/16', '::1/128', 'fe80::/10', 'ff00::/8', '::/128', '::ffff:0:0/96'];
  await net.add('x', { agent: { routes: { advertise: [...hostile, '2001:db8:5::/48'] } } });
  t.ok((await net.until(everyoneSees(net, 2), 10_000)) >= 0);
  for (const prefix of hostile) t.ok(lines.some((l) => l.includes('advertised route refused') && l.includes(prefix)), `refused with a log line: ${prefix}`);
  t.equal(carrier(laptop, 'fd77:7770:2a00::a93:9'), undefined, 'nothing of the room space routed to x by its prefix');
  t.equal(carrier(laptop, '2001:db8:5::9'), 'x', 'the harmless IPv6 prefix is accepted');
  t.equal(laptop.agent.counters.get('routes_refused'), hostile.length);
  // Our own IPv6 LAN (read from the interfaces) is refused too.
  const lans = lanConflicts('wg0', { eth0: [{ address: '2001:db8:9::2', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal: false, cidr: '2001:db8:9::2/64', scopeid: 0 }] });
  const offer = { key: 'K', publicKey: Buffer.alloc(32, 1), name: 'y', routes: ['2001:db8:9::/64', '2001:db8::/32', '2001:db8:a::/64'], claimsSince: 1, claimsSeenAt: undefined };
  const { chosen, refused } = chooseRoutes([offer], lans);
  t.same(refused.map((r) => r.prefix), ['2001:db8:9::/64', '2001:db8::/32'], 'our IPv6 LAN and a prefix around it refused');
  t.same([...chosen.keys()], ['2001:db8:a::/64']);
});
