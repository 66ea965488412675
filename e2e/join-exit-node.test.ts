// Exit nodes in the NAT lab: a laptop behind a NAT with --exit-node vps sends its traffic to a
// host on the fake internet through the member "vps" (--advertise-exit-node, on a public
// address): the destination sees vps's address, not the laptop's site. The signal server stays
// outside the tunnel (its own rule), and stopping vps restores the laptop's own default route
// within seconds (its goodbye still arrives over the signal server); when vps returns it is used again.
// vps and dst also have IPv6 on the internet's link: the laptop (IPv4 only at home) reaches dst's
// IPv6 address through vps; a vps without an IPv6 way out offers none, and the laptop's IPv6
// default still goes into the tunnel (dropped there, never around the exit node).
//
//   internet: ex-srv 203.0.113.10 (server), ex-vps 203.0.113.40 (exit node), ex-dst 198.51.100.20 (tells callers their address)
//             ex-vps 2001:db8:77::40, ex-dst 2001:db8:77::20 (one IPv6 link; vps's IPv6 default route is on it)
//   home (port-restricted): h1 laptop, h2 a neighbour on its LAN (direct only with --exit-node-allow-lan)
import t from 'tap';
import { NatLab } from './lib/nat-lab.js';
import { requireRootOrSkip } from './lib/root.js';
import { pingCount, startJoinAgent, startSignalServer, type JoinAgent } from './lib/join-agent.js';
import { waitFor } from './lib/process.js';
import type { Netns } from './lib/netns.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping', 'curl'], tun: true, probeName: 'ex-probe' };
const SECRET = 'ex-exit-secret-0123456789abcdef';
const DEST = '198.51.100.20';
const VPS = '203.0.113.40';
const SERVER = '203.0.113.10';
const DEST6 = '2001:db8:77::20';
const VPS6 = '2001:db8:77::40';

/** An HTTP server answering each request with the caller's address, on DEST and DEST6. */
const WHOAMI = `const h = require('node:http'); const f = (q, s) => s.end(q.socket.remoteAddress);
h.createServer(f).listen(8000, '${DEST}', () => h.createServer(f).listen(8000, '${DEST6}', () => console.log('listening')))`;

/** The address `ns` appears from at the destination ('' when it does not get there). */
async function seenAs(ns: Netns, dest = DEST): Promise<string> {
  const r = await ns.exec('curl', ['-s', '--max-time', '2', `http://${dest.includes(':') ? `[${dest}]` : dest}:8000/`], { allowFail: true, timeoutMs: 5_000 });
  return r.code === 0 ? r.stdout.trim() : '';
}

/** IPv6 back on (the lab turns it off everywhere) with `address` on eth0's /64. */
async function giveIpv6(ns: Netns, address: string): Promise<void> {
  await ns.exec('sysctl', ['-w', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.eth0.disable_ipv6=0', 'net.ipv6.conf.lo.disable_ipv6=0', 'net.ipv6.conf.eth0.accept_ra=1']);
  await ns.ip(['-6', 'addr', 'add', `${address}/64`, 'dev', 'eth0', 'nodad']);
}

t.test('a member leaves through an exit node, and falls back to its own route when it goes', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await NatLab.create(t, { prefix: 'ex' });
  const srv = await lab.publicHost('srv', SERVER);
  const dst = await lab.publicHost('dst', DEST);
  const vpsNs = await lab.publicHost('vps', VPS);
  const home = await lab.site('home', 'port-restricted', { hosts: 2 });
  const gateway = home.hostAddresses[0]!.replace(/\.\d+$/, '.1');
  await giveIpv6(dst, DEST6);
  await giveIpv6(vpsNs, VPS6);
  await vpsNs.ip(['-6', 'route', 'add', 'default', 'dev', 'eth0']);
  const acceptRa = async () => (await vpsNs.exec('sysctl', ['-n', 'net.ipv6.conf.eth0.accept_ra'])).stdout.trim();
  const neighbour = home.hostAddresses[1]!;
  const whoami = dst.spawn('node', ['-e', WHOAMI], { name: 'ex-dst.whoami' });
  await whoami.waitForOutput(/listening/, 10_000);
  const server = await startSignalServer(srv, SERVER);
  const base = { room: 'exit', server: server.url, secret: SECRET };
  const laptopNs = home.hosts[0]!;
  t.equal(await seenAs(laptopNs), home.wanAddress, `before: the destination sees the laptop's site (${home.wanAddress})`);

  const laptop = await startJoinAgent(laptopNs, { ...base, name: 'laptop', ifname: 'exl0', args: ['--exit-node', 'vps', '--no-portmap'] });
  t.teardown(() => laptop.stop());
  const startVps = async () => {
    const a = await startJoinAgent(vpsNs, { ...base, name: 'vps', ifname: 'exv0', args: ['--advertise-exit-node', '--no-portmap'] });
    t.teardown(() => a.stop());
    return a;
  };
  let vps: JoinAgent = await startVps();
  t.match((await vpsNs.exec('nft', ['list', 'table', 'ip', 'wgp2p_exv0'])).stdout, /masquerade/, 'the exit node masquerades what leaves the room');
  await waitFor(async () => (await seenAs(laptopNs)) === VPS, { timeoutMs: 20_000, intervalMs: 250, what: 'the laptop leaving through vps' });
  t.pass(`with --exit-node vps: the destination sees ${VPS}`);
  t.equal((await laptop.status()).self.exitNode, 'vps', 'status names the exit node in use');
  t.match((await vps.status()).self, { advertisesExitNode: true, advertisesExitNodeIpv6: true }, "the exit node's status says it offers, IPv6 too");
  t.match((await laptopNs.ip(['-4', 'route', 'get', DEST])).stdout, /dev exl0/, 'the internet goes into the tunnel');
  t.match((await laptopNs.ip(['-4', 'route', 'get', SERVER])).stdout, /dev eth0/, 'the signal server does not');
  t.match((await laptopNs.ip(['-4', 'rule', 'show'])).stdout, new RegExp(`to ${SERVER.replace(/\./g, '\\.')} lookup main`), '(a rule of its own)');
  t.match((await laptopNs.ip(['-4', 'route', 'get', gateway])).stdout, /dev eth0/, 'nor the default gateway');
  t.match((await laptopNs.ip(['-4', 'route', 'get', neighbour])).stdout, /dev exl0/, 'the rest of the LAN does, without --exit-node-allow-lan');
  const peer = (await laptop.status()).peers.find((p) => p.name === 'vps');
  t.match(peer?.endpoint, new RegExp(`^${VPS.replace(/\./g, '\\.')}:`), "the tunnel's own datagrams go straight to vps (marked, outside the tunnel)");
  // IPv6: vps has an IPv6 way out, so it offers IPv6 and the IPv4-only laptop gains it.
  await waitFor(async () => (await seenAs(laptopNs, DEST6)) === VPS6, { timeoutMs: 10_000, intervalMs: 250, what: 'the laptop reaching IPv6 through vps' });
  t.pass(`IPv6 through vps: the destination sees ${VPS6}`);
  t.match((await vpsNs.exec('nft', ['list', 'table', 'ip6', 'wgp2p_exv0'])).stdout, /ip6 saddr fd77:7770:2a00::[0-9a-f:]+\/\d+ oifname != "exv0" masquerade/, 'the exit node masquerades IPv6 leaving the room');
  t.equal(await acceptRa(), '2', 'and keeps taking router advertisements while it forwards IPv6 (accept_ra 2)');
  const using = await laptop.status();
  t.match(using.self, { exitNode: 'vps', exitNodeIpv6: true }, "the laptop's status: its IPv6 goes through vps");
  t.match(using.peers.find((p) => p.name === 'vps'), { offersExitNode: true, offersExitNodeIpv6: true }, 'next to the peer vps: its offer carries IPv6');
  t.match((await laptopNs.ip(['-6', 'route', 'get', DEST6])).stdout, /dev exl0/, 'the IPv6 internet goes into the tunnel');

  // vps stops: its goodbye reaches the laptop over the signal server, routing comes back at once.
  const stoppedAt = Date.now();
  await vps.stop();
  await waitFor(async () => (await seenAs(laptopNs)) === home.wanAddress, { timeoutMs: 10_000, intervalMs: 100, what: 'the laptop back on its own route' });
  const restoreMs = Date.now() - stoppedAt;
  t.ok(restoreMs < 5_000, `vps stopped: the laptop's own default route is back after ${restoreMs} ms`);
  t.match(laptop.process.stdout + laptop.process.stderr, /exit node gone; normal routing restored/, 'logged');
  t.notMatch((await laptopNs.ip(['-4', 'rule', 'show'])).stdout, /lookup 51820/, 'the rules are gone');
  t.notMatch((await laptopNs.ip(['-6', 'rule', 'show'])).stdout, /lookup 51820/, 'the IPv6 rules too');
  t.equal(await acceptRa(), '1', "vps stopped: its uplink's accept_ra is back");

  // vps returns without an IPv6 way out: it offers none, and the laptop's IPv6 is dropped, not leaked.
  await vpsNs.ip(['-6', 'route', 'del', 'default', 'dev', 'eth0']);
  vps = await startVps();
  await waitFor(async () => (await seenAs(laptopNs)) === VPS, { timeoutMs: 20_000, intervalMs: 250, what: 'vps used again' });
  t.pass('a returning exit node is used again');
  t.match(laptop.process.stdout + laptop.process.stderr, /dropped \(the exit node offers no IPv6\)/, 'the laptop logs that it offers no IPv6');
  t.equal((await vps.status()).self.advertisesExitNodeIpv6, false, "the exit node's status: no IPv6 in its offer");
  t.match((await laptop.status()).self, { exitNode: 'vps', exitNodeIpv6: false }, "and the laptop's: its IPv6 does not go through vps");
  t.match((await laptopNs.ip(['-6', 'route', 'get', DEST6])).stdout, /dev exl0/, "the laptop's IPv6 default still goes into the tunnel");
  t.equal(await seenAs(laptopNs, DEST6), '', 'where it is dropped');
  await laptop.stop();
  t.equal(await seenAs(laptopNs), home.wanAddress, 'the laptop stopped: its own route again');
  t.equal((await laptopNs.ip(['-4', 'rule', 'show'])).stdout.split('\n').filter(Boolean).length, 3, 'only the three default rules are left');
  t.equal((await laptopNs.ip(['-6', 'rule', 'show'])).stdout.split('\n').filter(Boolean).length, 2, 'and the two IPv6 ones');

  // --exit-node-allow-lan: the internet through vps, the LAN direct.
  const lanLaptop = await startJoinAgent(laptopNs, { ...base, name: 'laptop', ifname: 'exl0', args: ['--exit-node', 'vps', '--exit-node-allow-lan', '--no-portmap'] });
  t.teardown(() => lanLaptop.stop());
  await waitFor(async () => (await seenAs(laptopNs)) === VPS, { timeoutMs: 20_000, intervalMs: 250, what: 'the laptop leaving through vps again' });
  t.match((await laptopNs.ip(['-4', 'route', 'get', neighbour])).stdout, /dev eth0/, 'with --exit-node-allow-lan the LAN stays direct');
  t.equal(await pingCount(laptopNs, neighbour, 3), 3, 'and the neighbour answers');
});
