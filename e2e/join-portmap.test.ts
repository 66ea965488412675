// Issue 13: a member behind a symmetric NAT whose router runs miniupnpd maps its WireGuard port
// (one run per protocol: PCP, NAT-PMP, UPnP IGD) and announces the mapping as a `portmap`
// candidate; a member behind another symmetric NAT (no miniupnpd), which today meets it only
// through a relay, then reaches it directly. `wgp2p netcheck` names the protocol the gateway
// speaks, and the mapping is gone from the router once the agent stops.
import t from 'tap';
import { MINIUPNPD, MINIUPNPD_PROTOCOLS, miniupnpdSite } from './lib/miniupnpd.js';
import { NatLab } from './lib/nat-lab.js';
import { waitFor } from './lib/process.js';
import { requireRootOrSkip } from './lib/root.js';
import { firstPing, pingCount, startJoinAgent, startSignalServer } from './lib/join-agent.js';
import { cliPath } from './lib/wgp2p-tunnel.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping', MINIUPNPD], tun: true, probeName: 'jp-probe' };
const SECRET = 'jp-portmap-secret-0123456789abcdef';
const SERVER_IP = '203.0.113.10';
/** PCP and NAT-PMP each time out (2 s) before a UPnP mapping is asked for. */
const MAPPING_TIMEOUT_MS = 15_000;
const DIRECT_TIMEOUT_MS = 15_000;
const PINGS = 5;

t.test('a symmetric NAT with miniupnpd: the mapped member is reached directly', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await NatLab.create(t, { prefix: 'jp' });
  const srv = await lab.publicHost('srv', SERVER_IP);
  const server = await startSignalServer(srv, SERVER_IP);
  const peerSite = await lab.site('sy', 'symmetric');

  for (const [i, protocol] of MINIUPNPD_PROTOCOLS.entries()) {
    await t.test(protocol, async (t) => {
      const mp = await miniupnpdSite(lab, `jp${protocol.slice(0, 2)}`, { nat: 'symmetric', protocol });
      const host = mp.site.hosts[0]!;
      // netcheck runs while the agents start: it only probes the gateway, it maps nothing.
      const netcheck = host.exec('node', [cliPath(), 'netcheck', '--server', server.url, '--json'], { timeoutMs: 30_000 });
      const base = { room: `portmap-${i}`, server: server.url, secret: SECRET };
      const [a, b] = await Promise.all([
        startJoinAgent(host, { ...base, name: `pm-${protocol}`, ifname: `jp${i}a` }),
        startJoinAgent(peerSite.hosts[0]!, { ...base, name: `sy-${protocol}`, ifname: `jp${i}b` }),
      ]);
      t.teardown(() => Promise.all([a.stop(), b.stop()]));
      const check = JSON.parse((await netcheck).stdout) as { portmap: Record<string, unknown> };
      const gateway = mp.site.hostAddresses[0]!.replace(/\.\d+$/, '.1');
      t.strictSame(check.portmap, { gateway, pcp: protocol === 'pcp', natpmp: protocol === 'natpmp', upnp: protocol === 'upnp' }, `netcheck: the gateway speaks ${protocol} only`);

      const mapped = await waitFor(async () => (await a.status()).self.portmap, { timeoutMs: MAPPING_TIMEOUT_MS, what: `a ${protocol} mapping in status` });
      t.equal(mapped.split(':')[0], mp.site.wanAddress, `status shows the mapping ${mapped} on the router's WAN address`);
      const port = mapped.split(':')[1];
      t.match(await mp.redirects(), new RegExp(`dport ${port} dnat`), 'miniupnpd holds the DNAT rule');

      const addressA = (await a.status()).self.address!;
      const addressB = (await b.status()).self.address!;
      await firstPing(peerSite.hosts[0]!, addressA, DIRECT_TIMEOUT_MS);
      const paths = async () => [(await a.status()).peers[0], (await b.status()).peers[0]] as const;
      const [pa, pb] = await waitFor(async () => {
        const p = await paths();
        return p[0]?.path === 'direct' && p[1]?.path === 'direct' ? p : undefined;
      }, { timeoutMs: DIRECT_TIMEOUT_MS, what: 'a direct path both ways' }).catch(async () => paths());
      t.equal(pa?.path, 'direct', `a: direct to b (${pa?.endpoint})`);
      t.equal(pb?.path, 'direct', `b: direct to a (${pb?.endpoint})`);
      t.equal(pb?.endpoint, mapped, "b sends to a's mapping");
      t.equal(await pingCount(host, addressB, PINGS), PINGS, 'a pings b');
      t.equal(await pingCount(peerSite.hosts[0]!, addressA, PINGS), PINGS, 'b pings a');

      await a.stop();
      t.notMatch(await mp.redirects(), new RegExp(`dport ${port} dnat`), 'the mapping is deleted when the agent stops');
      await mp.stop();
    });
  }
});
