// Subnet routes on the in-memory JoinNet (fixtures/join-net.ts): a member's advertised LAN prefix
// becomes its peer's allowed IPs (and a route into the tunnel) only at members with
// --accept-routes; prefixes overlapping the room subnet, the member's own LANs or special space
// are refused with a log line; two advertisers of one prefix resolve the same on every member
// (the earlier claim carries it; an insider grinding a lower key does not take it over), and the
// other takes over when the first goes away.
import t from 'tap';
import { parseAddress } from '../../shared/net/address.js';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';
import { ipv4Packet } from './fixtures/engine-net.js';
import { keyBelow } from './fixtures/ground-key.js';
import { ADDRESS_CLAIM_SKEW_MS } from '../join/room/room-address.js';

const LAN = '192.168.77.0/24';

/** The member whose peer carries `address` in `at`'s engine (its name), if any. */
function carrier(at: JoinNode, address: string): string | undefined {
  const peer = at.device.allowedIps.lookup(4, parseAddress(address).bytes);
  return peer && at.agent.members.get(peer.publicKey)?.name;
}

/** Records the kernel routes `n`'s agent asks for (JoinNet's tunnel has none of its own). */
function kernelRoutes(n: JoinNode): Set<string> {
  const routes = new Set<string>();
  const tunnel = n.agent.ports.tunnel;
  tunnel.addRoute = async (cidr) => void routes.add(cidr);
  tunnel.removeRoute = async (cidr) => void routes.delete(cidr);
  return routes;
}

const everyoneSees = (net: JoinNet, n: number) => () => [...net.nodes.values()].every((x) => x.agent.members.size === n - 1 && x.agent.members.all().every((m) => m.finder.active));

t.test('an advertised prefix is routed through its member only with --accept-routes', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const router = await net.add('router', { agent: { routes: { advertise: [LAN] } } });
  const laptop = await net.add('laptop', { agent: { routes: { accept: true } } });
  const routes = kernelRoutes(laptop);
  const other = await net.add('other');
  t.ok((await net.until(everyoneSees(net, 3), 10_000)) >= 0, 'all paths direct');
  t.equal(carrier(laptop, '192.168.77.5'), 'router', 'laptop: 192.168.77.5 goes to the router');
  t.same([...routes], [LAN], 'laptop: a route into the tunnel');
  t.same(laptop.agent.routes.status().acceptedRoutes, [{ prefix: LAN, via: 'router' }], 'status shows it');
  t.same(router.agent.routes.status().advertisedRoutes, [LAN]);
  t.equal(carrier(other, '192.168.77.5'), undefined, 'other (no --accept-routes): not routed');
  // A packet for the LAN host arrives at the router's TUN (its kernel forwards it on).
  const from = laptop.agent.address;
  laptop.device.sendPacket(ipv4Packet(from, '192.168.77.5', 'to the lan'));
  await net.run(200);
  t.ok(router.tun.some((p) => p.subarray(16, 20).equals(Buffer.from([192, 168, 77, 5]))), 'the router got the packet for the LAN host');
  // And the LAN host's answer, coming out of the router's tunnel, is accepted by the laptop.
  router.device.sendPacket(ipv4Packet('192.168.77.5', from, 'from the lan'));
  await net.run(200);
  t.ok(laptop.tun.some((p) => p.subarray(12, 16).equals(Buffer.from([192, 168, 77, 5]))), 'the laptop accepts the LAN host as a source from the router');
  router.device.sendPacket(ipv4Packet('192.168.77.5', other.agent.address, 'unasked'));
  await net.run(200);
  t.notOk(other.tun.some((p) => p.subarray(12, 16).equals(Buffer.from([192, 168, 77, 5]))), 'other drops it: not an allowed source');
});

t.test('prefixes overlapping the room subnet, our LANs or special space are refused with a log line', async (t) => {
  const lines: string[] = [];
  const net = new JoinNet('join-net', { logLevel: 'info', log: (l) => lines.push(l) });
  t.teardown(() => net.closeAll());
  const laptop = await net.add('laptop', { agent: { routes: { accept: true } } }); // its LAN: 192.168.1.0/24
  const hostile = ['10.147.9.0/24', '10.0.0.0/8', '192.168.1.128/25', '192.168.0.0/16', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4'];
  await net.add('x', { agent: { routes: { advertise: [...hostile, '172.16.5.0/24'] } } });
  t.ok((await net.until(everyoneSees(net, 2), 10_000)) >= 0);
  for (const prefix of hostile) {
    const host = prefix.split('/')[0]!.replace(/\.\d+$/, '.9');
    t.not(carrier(laptop, host), 'x', `${prefix} is not routed to x`);
    t.ok(lines.some((l) => l.includes('advertised route refused') && l.includes(prefix)), `a log line for ${prefix}`);
  }
  t.equal(carrier(laptop, '192.168.1.9'), undefined, 'the laptop\'s own LAN stays out of the tunnel');
  t.equal(carrier(laptop, '172.16.5.9'), 'x', 'the harmless prefix is accepted');
  t.equal(laptop.agent.counters.get('routes_refused'), hostile.length, 'refusals counted once each');
  await net.run(5_000);
  t.equal(laptop.agent.counters.get('routes_refused'), hostile.length, 'and logged once, not on every change');
  t.not(carrier(laptop, laptop.agent.members.all()[0]!.address), undefined, "x's own room address still routes to x");
});

t.test('two advertisers of one prefix: the same one on every member, the other takes over when it goes', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const r1 = await net.add('r1', { agent: { routes: { advertise: [LAN] } } });
  const r2 = await net.add('r2', { agent: { routes: { advertise: [LAN, '10.20.0.0/16'] } } });
  const m1 = await net.add('m1', { agent: { routes: { accept: true } } });
  const m2 = await net.add('m2', { agent: { routes: { accept: true } } });
  const routes = kernelRoutes(m1);
  t.ok((await net.until(everyoneSees(net, 4), 15_000)) >= 0);
  // kernelRoutes was installed after m1 decided: let one more change reach it.
  m1.agent.routes.apply([]);
  m1.agent.routes.apply(m1.agent.members.all());
  // r1 advertised first: the earlier claim carries a prefix, whatever the keys (route-choice.ts).
  t.ok(r1.agent.signalling.self.since < r2.agent.signalling.self.since, 'r1 claimed first');
  const [first, second] = [r1, r2];
  t.equal(carrier(m1, '192.168.77.5'), first.name, `m1: the earlier claim (${first.name}) carries it`);
  t.equal(carrier(m2, '192.168.77.5'), first.name, 'm2: the same one');
  t.equal(carrier(m1, '10.20.3.4'), 'r2', 'a prefix only r2 advertises goes to r2');
  t.same([...routes].sort(), ['10.20.0.0/16', LAN]);
  net.close(first.name);
  t.ok((await net.until(() => carrier(m1, '192.168.77.5') === second.name && carrier(m2, '192.168.77.5') === second.name, 5_000)) >= 0, `${second.name} takes over on both`);
  t.ok(routes.has(LAN), 'the kernel route stays through the takeover');
  net.close(second.name);
  t.ok((await net.until(() => carrier(m1, '192.168.77.5') === undefined && !routes.has(LAN) && !routes.has('10.20.0.0/16'), 5_000)) >= 0, 'withdrawn once nobody carries it');
});

t.test('an insider with a lower key advertising a member\'s prefix later does not take it over, even backdated', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const router = await net.add('router', { agent: { routes: { advertise: [LAN] } } });
  const m1 = await net.add('m1', { agent: { routes: { accept: true } } });
  t.ok((await net.until(everyoneSees(net, 2), 10_000)) >= 0);
  await net.run(ADDRESS_CLAIM_SKEW_MS + 10_000, 100); // the router has carried it a while
  const x = await net.add('x', { key: keyBelow(router.key.publicKey), agent: { routes: { advertise: [LAN] } } });
  const late = await net.add('late', { agent: { routes: { accept: true } } }); // believes the signed times
  t.ok((await net.until(everyoneSees(net, 4), 15_000)) >= 0);
  await net.run(1_000);
  for (const n of [m1, late]) t.equal(carrier(n, '192.168.77.5'), 'router', `${n.name}: the router keeps carrying it`);
  x.agent.signalling.self.since = 1; // a modified agent backdates its claim
  x.agent.signalling.announceUpdate();
  await net.run(5_000);
  t.equal(carrier(m1, '192.168.77.5'), 'router', 'm1: a backdated claim seen appearing does not take it');
  net.close('router');
  t.ok((await net.until(() => carrier(m1, '192.168.77.5') === 'x', 5_000)) >= 0, 'once the router leaves, the other advertiser carries it');
});
