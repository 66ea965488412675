// Subnet routes in the NAT lab: a member at "home" advertises its LAN (--advertise-routes,
// --snat-routes); a laptop at a café with --accept-routes reaches a LAN host that runs no agent
// (ping, and a checksummed TCP transfer, over IPv4 and IPv6), while a member without --accept-routes does not, even
// with a route of its own into the tunnel. Hostile: that member also advertises a prefix inside
// the room subnet and the laptop's own LAN: the laptop refuses both and says so. The router's
// nftables table and forwarding go back as they were when it stops. The router takes its IPv6
// default route from router advertisements (the LAN host sends real ones): while it forwards IPv6
// its eth0 has accept_ra 2, so that route survives and RAs keep being taken; 1 again afterwards,
// also after a SIGKILL on the next start.
//
//   internet: rt-srv 203.0.113.10 (server)
//   home (full-cone): h1 router member, h2 LAN host (no agent)   café (full-cone): h1 laptop
//   x (full-cone): h1 member with --address 10.147.0.5/24, advertising hostile prefixes
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatLab } from './lib/nat-lab.js';
import { requireRootOrSkip } from './lib/root.js';
import { firstPing, pingCount, startJoinAgent, startSignalServer } from './lib/join-agent.js';
import { waitFor } from './lib/process.js';
import { tcpTransfer } from './lib/tcp-transfer.js';
import { learnRaDefault, raDefaultRoutes } from './lib/router-advert.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping', 'python3'], tun: true, probeName: 'rt-probe' };
const SECRET = 'rt-routes-secret-0123456789abcdef';
const MB = 1024 * 1024;

const lanOf = (address: string) => address.replace(/\.\d+$/, '.0/24');

t.test('a LAN host without an agent, reached through a subnet router', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await NatLab.create(t, { prefix: 'rt' });
  const srv = await lab.publicHost('srv', '203.0.113.10');
  const server = await startSignalServer(srv, '203.0.113.10');
  const base = { room: 'routes', server: server.url, secret: SECRET };
  const home = await lab.site('home', 'full-cone', { hosts: 2 });
  const cafe = await lab.site('cafe', 'full-cone');
  const xSite = await lab.site('x', 'full-cone');
  const homeLan = lanOf(home.hostAddresses[0]!);
  const lanHost = home.hostAddresses[1]!;
  const [routerNs, lanHostNs] = home.hosts as [typeof home.hosts[0], typeof home.hosts[0]];
  const forwarding = async () => (await routerNs.exec('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim();
  const hasTable = async () => (await routerNs.exec('nft', ['list', 'table', 'ip', 'wgp2p_rtr0'], { allowFail: true })).code === 0;
  const forwardBefore = await forwarding();
  t.not(forwardBefore, '1', 'the router host does not forward before the agent runs');
  // The home LAN has IPv6 too (the lab turns IPv6 off everywhere; these two get it back).
  const homeLan6 = '2001:db8:1::/64';
  const lanHost6 = '2001:db8:1::3';
  for (const [ns, a] of [[routerNs, '2001:db8:1::2'], [lanHostNs, lanHost6]] as const) {
    await ns.exec('sysctl', ['-w', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.eth0.disable_ipv6=0', 'net.ipv6.conf.lo.disable_ipv6=0']);
    await ns.ip(['-6', 'addr', 'add', `${a}/64`, 'dev', 'eth0', 'nodad']);
  }
  const forwarding6 = async () => (await routerNs.exec('sysctl', ['-n', 'net.ipv6.conf.all.forwarding'])).stdout.trim();
  const forward6Before = await forwarding6();
  // The router's IPv6 default route comes from RAs (the LAN host plays the LAN's IPv6 router).
  await routerNs.exec('sysctl', ['-w', 'net.ipv6.conf.eth0.accept_ra=1']);
  const acceptRa = async () => (await routerNs.exec('sysctl', ['-n', 'net.ipv6.conf.eth0.accept_ra'])).stdout.trim();
  t.match(await learnRaDefault(lanHostNs, routerNs), /dev eth0/, 'the router takes its IPv6 default route from RAs');

  const router = await startJoinAgent(routerNs, { ...base, name: 'router', ifname: 'rtr0', args: ['--advertise-routes', `${homeLan},${homeLan6}`, '--snat-routes', '--no-portmap'] });
  t.teardown(() => router.stop());
  const laptop = await startJoinAgent(cafe.hosts[0]!, { ...base, name: 'laptop', ifname: 'rtl0', args: ['--accept-routes', '--no-portmap'] });
  t.teardown(() => laptop.stop());
  const hostile = ['10.147.9.0/24', lanOf(cafe.hostAddresses[0]!)];
  const x = await startJoinAgent(xSite.hosts[0]!, { ...base, name: 'x', ifname: 'rtx0', args: ['--address', '10.147.0.5/24', '--advertise-routes', hostile.join(','), '--no-portmap'] });
  t.teardown(() => x.stop());

  t.equal(await forwarding(), '1', 'the router turned on IPv4 forwarding');
  t.match((await routerNs.exec('nft', ['list', 'table', 'ip', 'wgp2p_rtr0'])).stdout, /masquerade/, 'and masquerades into its LAN (--snat-routes)');
  t.equal(await forwarding6(), '1', 'and IPv6 forwarding');
  t.match((await routerNs.exec('nft', ['list', 'table', 'ip6', 'wgp2p_rtr0'])).stdout, /ip6 daddr 2001:db8:1::\/64[^\n]*masquerade/, 'and masquerades IPv6 into its IPv6 LAN');
  t.equal(await acceptRa(), '2', 'its uplink takes RAs while forwarding (accept_ra 2)');
  t.match(await raDefaultRoutes(routerNs), /dev eth0/, 'so its RA default route survived forwarding going on');
  await routerNs.ip(['-6', 'route', 'del', 'default', 'proto', 'ra'], { allowFail: true });
  t.match(await learnRaDefault(lanHostNs, routerNs), /dev eth0/, 'and a new RA is taken while it forwards');
  const accepted = await waitFor(async () => {
    const s = await laptop.status();
    return s.self.acceptedRoutes?.length === 2 && s.peers.filter((p) => p.path === 'direct').length === 2 ? s.self.acceptedRoutes : undefined;
  }, { timeoutMs: 20_000, intervalMs: 250, what: 'the laptop accepting the home LAN' });
  t.same(accepted, [{ prefix: homeLan, via: 'router' }, { prefix: homeLan6, via: 'router' }], `laptop status: ${homeLan} and ${homeLan6} via router`);
  t.same((await router.status()).self.advertisedRoutes, [homeLan, homeLan6], 'router status: advertised');

  await firstPing(laptop.ns, lanHost, 10_000); // the router's first ARP for the host, under load
  t.equal(await pingCount(laptop.ns, lanHost, 5), 5, `the laptop pings the LAN host ${lanHost} (no agent there)`);
  const r = await tcpTransfer(laptop.ns, lanHostNs, lanHost, { bytes: 4 * MB, timeoutMs: 60_000 });
  t.equal(r.receivedSha256, r.sentSha256, `4 MB to the LAN host intact (${((4 * 8) / r.seconds).toFixed(0)} Mbit/s)`);
  // Over IPv6: from the laptop's IPv6 room address (derived from its IPv4 one) to the LAN host.
  t.match((await laptop.ns.ip(['-6', 'addr', 'show', 'dev', 'rtl0'])).stdout, /inet6 fd77:7770:2a00::a93:[0-9a-f]+\/112/, 'the laptop has its IPv6 room address');
  await firstPing(laptop.ns, lanHost6, 10_000);
  t.equal(await pingCount(laptop.ns, lanHost6, 5), 5, `ping -6: the laptop pings the LAN host at ${lanHost6}`);
  const r6 = await tcpTransfer(laptop.ns, lanHostNs, lanHost6, { bytes: MB, port: 7001, timeoutMs: 60_000 });
  t.equal(r6.receivedSha256, r6.sentSha256, `1 MB over IPv6 to the LAN host intact (${(8 / r6.seconds).toFixed(0)} Mbit/s)`);

  // x has no --accept-routes: even a route of its own into its tunnel leads nowhere.
  await x.ns.ip(['route', 'add', homeLan, 'dev', 'rtx0']);
  t.equal(await pingCount(x.ns, lanHost, 3), 0, 'a member without --accept-routes does not reach the LAN host');
  await x.ns.ip(['-6', 'route', 'add', homeLan6, 'dev', 'rtx0']);
  t.equal(await pingCount(x.ns, lanHost6, 3), 0, 'nor over IPv6');

  // Hostile prefixes from x: refused by the laptop with a log line, no route for them.
  await waitFor(() => hostile.every((p) => (laptop.process.stdout + laptop.process.stderr).includes(p)), { timeoutMs: 5_000, what: 'refusal log lines' });
  const log = laptop.process.stdout + laptop.process.stderr;
  for (const p of hostile) t.match(log, new RegExp(`advertised route refused[^\\n]*${p.replace(/\./g, '\\.')}`), `refused: ${p}`);
  t.equal((await laptop.status()).counters.routes_refused, 2, 'both counted');
  const routes = (await laptop.ns.ip(['-4', 'route', 'show'])).stdout;
  t.notMatch(routes, /10\.147\.9\.0\/24/, 'no route for the prefix inside the room subnet');
  t.match(routes, new RegExp(`^${hostile[1]!.replace(/\./g, '\\.')} dev eth0`, 'm'), "the laptop's LAN stays on eth0");
  t.equal(await pingCount(laptop.ns, cafe.hostAddresses[0]!.replace(/\.\d+$/, '.1'), 2), 2, 'and the laptop still reaches its own gateway');

  // Stopping the router: its table goes, forwarding is back as it was, the laptop withdraws the route.
  await router.stop();
  t.equal(await hasTable(), false, 'the nftables table is gone');
  t.equal(await forwarding(), forwardBefore, `ip_forward back to ${forwardBefore}`);
  t.equal(await forwarding6(), forward6Before, `IPv6 forwarding back to ${forward6Before}`);
  t.equal(await acceptRa(), '1', 'accept_ra back to 1');
  t.equal((await routerNs.exec('nft', ['list', 'table', 'ip6', 'wgp2p_rtr0'], { allowFail: true })).code === 0, false, 'the ip6 table is gone');
  await waitFor(async () => !(await laptop.status()).self.acceptedRoutes, { timeoutMs: 5_000, what: 'the route withdrawn' });
  t.notMatch((await laptop.ns.ip(['-4', 'route', 'show'])).stdout, new RegExp(homeLan.replace(/\./g, '\\.')), 'the kernel route is gone');

  // A router killed (SIGKILL) leaves forwarding on and its table behind; its next start, even
  // without --advertise-routes, undoes both first (the record is in its state directory).
  const stateDir = await mkdtemp(join(tmpdir(), 'wgp2p-e2e-rt-crash-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const crashing = await startJoinAgent(routerNs, { ...base, name: 'router', ifname: 'rtr0', stateDir, args: ['--advertise-routes', `${homeLan},${homeLan6}`, '--snat-routes', '--no-portmap'] });
  await crashing.stop('SIGKILL');
  t.equal(await forwarding(), '1', 'SIGKILL left IPv4 forwarding on');
  t.same([await forwarding6(), await acceptRa()], ['1', '2'], 'IPv6 forwarding and accept_ra 2 too');
  t.equal(await hasTable(), true, 'and the nftables table');
  const again = await startJoinAgent(routerNs, { ...base, name: 'router', ifname: 'rtr0', stateDir, args: ['--no-portmap'] });
  t.teardown(() => again.stop());
  t.equal(await forwarding(), forwardBefore, `the next start put ip_forward back to ${forwardBefore}`);
  t.same([await forwarding6(), await acceptRa()], [forward6Before, '1'], 'IPv6 forwarding and accept_ra too');
  t.equal(await hasTable(), false, 'and deleted the table');
  t.match(again.process.stdout + again.process.stderr, /routing changes a previous run left were undone/, 'and said so');
});
