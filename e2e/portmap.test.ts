// The port mapper (agent/portmap) against a real miniupnpd on a symmetric NAT, one protocol at a
// time (and PCP on a port-restricted NAT): the mapping it gets really forwards from the internet to the host's socket, and is gone
// from the router once the mapper closes. Then a hostile device on the LAN (garbage, oversized,
// mismatched and impostor answers, some from the gateway's own address) gets no mapping made
// and crashes nothing.
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { MINIUPNPD, MINIUPNPD_PROTOCOLS, miniupnpdSite, type MiniupnpdNat } from './lib/miniupnpd.js';
import { NatLab } from './lib/nat-lab.js';
import type { Netns } from './lib/netns.js';
import { waitFor, sleep, type ManagedProcess } from './lib/process.js';
import { requireRootOrSkip } from './lib/root.js';
import { projectRoot } from './lib/wgp2p-tunnel.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'node', MINIUPNPD], probeName: 'pmt-probe' };
const WG_PORT = 51820;
const LEASE_S = 30;
const REQUEST_PORT = 45351;
const tool = (name: string): string => join(projectRoot(), 'e2e/tools', name);

interface Mapping { protocol: string; externalAddress: string; externalPort: number }
interface Line { event: string; mapping?: Mapping | null; text?: string; rejected?: Record<string, number>; stats?: Record<string, number> }

const lines = (p: ManagedProcess): Line[] => p.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);

function startClient(host: Netns, protocols: string, requestPort?: number): ManagedProcess {
  const args = [tool('portmap-client.mjs'), String(WG_PORT), protocols, String(LEASE_S), ...(requestPort ? [String(requestPort)] : [])];
  return host.spawn('node', args, { name: `${host.name}.portmap` });
}

async function stopClient(p: ManagedProcess): Promise<Line> {
  await p.kill('SIGTERM', 8_000);
  const last = lines(p).filter((l) => l.event === 'stats').at(-1);
  if (!last) throw new Error(`no final stats from the client\n${p.tail(20)}`);
  return last;
}

async function sendFromInternet(ns: Netns, to: Mapping, text: string): Promise<void> {
  await ns.exec('node', [tool('udp-send.mjs'), to.externalAddress, String(to.externalPort), 'hex'], { input: Buffer.from(text).toString('hex') + '\n' });
}

t.test('port mapping through a real miniupnpd on a symmetric and a port-restricted NAT', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await NatLab.create(t, { prefix: 'pmt' });
  const sender = await lab.publicHost('snd', '203.0.113.40');

  const runs = [...MINIUPNPD_PROTOCOLS.map((protocol) => ({ protocol, nat: 'symmetric' as MiniupnpdNat })), { protocol: 'pcp' as const, nat: 'port-restricted' as MiniupnpdNat }];
  for (const { protocol, nat } of runs) {
    t.test(`${protocol} alone, ${nat} NAT`, async (t: Test) => {
      const mp = await miniupnpdSite(lab, `${protocol.slice(0, 2)}${nat.slice(0, 2)}`, { nat, protocol });
      const client = startClient(mp.site.hosts[0]!, 'pcp,natpmp,upnp');
      const got = await waitFor(() => lines(client).find((l) => l.mapping)?.mapping, { timeoutMs: 15_000, what: `a ${protocol} mapping` });
      t.equal(got.protocol, protocol, `the mapping came by ${protocol}`);
      t.equal(got.externalAddress, mp.site.wanAddress, 'on the router WAN address');
      t.match(await mp.redirects(), new RegExp(`dport ${got.externalPort} dnat ip to ${mp.site.hostAddresses[0]}:${WG_PORT}`), 'miniupnpd installed the DNAT rule');

      await sendFromInternet(sender, got, `hello-${protocol}`);
      await waitFor(() => lines(client).find((l) => l.event === 'recv' && l.text === `hello-${protocol}`), { timeoutMs: 3_000, what: 'datagram through the mapping' });
      t.pass(`a datagram from the internet to ${got.externalAddress}:${got.externalPort} reached the host's port ${WG_PORT}`);

      const final = await stopClient(client);
      t.equal(final.mapping, null, 'the mapper has no mapping after close');
      t.notMatch(await mp.redirects(), new RegExp(`dport ${got.externalPort} `), 'the DNAT rule is gone from the router');
      const listener = startClient(mp.site.hosts[0]!, 'none'); // the socket alone, no mapping
      await waitFor(() => lines(listener).find((l) => l.event === 'started'), { timeoutMs: 5_000, what: 'listener' });
      await sendFromInternet(sender, got, `after-${protocol}`);
      await sleep(500);
      t.notOk(lines(listener).some((l) => l.text === `after-${protocol}`), 'a new flow to the old mapping no longer gets in');
      await listener.kill('SIGTERM');
      await mp.stop();
    });
  }

  t.test('a hostile device on the LAN makes no mapping and crashes nothing', async (t: Test) => {
    // The router speaks none of the protocols: every answer the client sees is hostile.
    const site = await lab.site('ho', 'symmetric', { hosts: 2 });
    const [host, evil] = [site.hosts[0]!, site.hosts[1]!];
    const [hostIp, evilIp] = [site.hostAddresses[0]!, site.hostAddresses[1]!];
    const gateway = `${hostIp.split('.').slice(0, 3).join('.')}.1`;
    // The impostor holds the gateway's address too, but never answers ARP, so the host keeps
    // the real router as its gateway while datagrams "from the gateway" reach it.
    await evil.exec('sysctl', ['-q', '-w', 'net.ipv4.conf.all.arp_ignore=8', 'net.ipv4.conf.eth0.arp_ignore=8', 'net.ipv4.conf.all.arp_announce=2']);
    await evil.ip(['addr', 'add', `${gateway}/32`, 'dev', 'eth0']);
    const hostile = evil.spawn('node', [tool('portmap-hostile.mjs'), hostIp, String(REQUEST_PORT), gateway, evilIp], { name: `${evil.name}.hostile` });
    await hostile.waitForOutput(/"ready"/, 5_000);
    const client = startClient(host, 'pcp,natpmp,upnp', REQUEST_PORT);
    await waitFor(() => /upnp:/.test(client.stderr), { timeoutMs: 15_000, what: 'the client to try all three protocols' });
    t.ok(client.running, 'the client is alive');
    t.match(hostile.stdout, /"ssdp"/, 'the impostor answered the SSDP search');
    const final = await stopClient(client);
    t.equal(final.mapping, null, 'no mapping');
    t.notOk(lines(client).some((l) => l.mapping), 'no mapping was ever announced');
    const r = final.rejected ?? {};
    t.comment(`rejected: ${JSON.stringify(r)}`);
    for (const key of ['pcp:wrong-source', 'pcp:nonce-mismatch', 'pcp:oversized', 'natpmp:bad-opcode', 'natpmp:port-mismatch', 'upnp:bad-location', 'upnp:wrong-source']) {
      t.ok((r[key] ?? 0) > 0, `${key} counted`);
    }
    t.equal(client.exitInfo?.code, 0, 'the client exited cleanly');
    await hostile.kill('SIGTERM');
  });
});
