// STUN through real NATs: two clients, each behind its own router namespace doing iptables
// MASQUERADE (one plain, one --random-fully), reach `wgp2p server` on a "public" bridge. Each
// must learn its router's public address and the port the router really chose (read back from
// the router's conntrack table), and behaviour discovery must tell the two NATs apart.
//
//   sn-cla 10.77.1.2 ── sn-rta (MASQUERADE) 203.0.113.2 ──┐
//                                                         ├── sn-br 203.0.113.1 in sn-pub (server)
//   sn-clb 10.77.2.2 ── sn-rtb (--random-fully) 203.0.113.3 ┘
import t from 'tap';
import { Lab, addAddress, addBridge, addRoute, enableForwarding, vethPair, type Netns } from './lib/netns.js';
import { requireRootOrSkip } from './lib/root.js';
import type { NatBehaviour } from '../shared/stun/index.js';
import { tsChildEnv, tsScriptArgv } from '../signal-server/test/node-child.js';

const NEEDS = { binaries: ['iptables', 'conntrack', 'sysctl'], probeName: 'sn-probe' };
const SERVER_IP = '203.0.113.1';
const HTTP_PORT = 8080;
const STUN_PORT = 3478;
const STUN_ALT_PORT = 3479;
const CLIENT_PORT = 40000;

interface Site {
  router: Netns;
  client: Netns;
  publicIp: string;
}

async function buildSite(lab: Lab, pub: Netns, tag: 'a' | 'b', randomFully: boolean): Promise<Site> {
  const n = tag === 'a' ? 1 : 2;
  const publicIp = `203.0.113.${n + 1}`;
  const router = await lab.netns(`sn-rt${tag}`);
  const client = await lab.netns(`sn-cl${tag}`);
  await vethPair(pub, `sn-p${tag}`, router, `sn-r${tag}-wan`);
  await pub.ip(['link', 'set', `sn-p${tag}`, 'master', 'sn-br']);
  await vethPair(client, `sn-c${tag}`, router, `sn-r${tag}-lan`);
  await addAddress(router, `sn-r${tag}-wan`, `${publicIp}/24`);
  await addAddress(router, `sn-r${tag}-lan`, `10.77.${n}.1/24`);
  await addAddress(client, `sn-c${tag}`, `10.77.${n}.2/24`);
  await addRoute(client, 'default', `10.77.${n}.1`);
  await enableForwarding(router);
  const rule = ['-t', 'nat', '-A', 'POSTROUTING', '-o', `sn-r${tag}-wan`, '-j', 'MASQUERADE', ...(randomFully ? ['--random-fully'] : [])];
  await router.exec('iptables', rule);
  return { router, client, publicIp };
}

/** The public port the router's NAT gave the client's socket's flow toward `dport` (from conntrack). */
async function conntrackMappedPort(router: Netns, clientIp: string, dport: number): Promise<number | undefined> {
  const filter = ['--orig-src', clientIp, '--orig-port-src', String(CLIENT_PORT), '--orig-port-dst', String(dport)];
  const r = await router.exec('conntrack', ['-L', '-p', 'udp', ...filter], { allowFail: true });
  // udp 17 29 src=C dst=S sport=c dport=s [UNREPLIED] src=S dst=R sport=s dport=MAPPED ...
  const m = /dport=\d+ .*?src=\S+ dst=\S+ sport=\d+ dport=(\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}

async function probe(site: Site): Promise<{ behaviour: NatBehaviour; yourAddress?: string }> {
  const argv = tsScriptArgv('signal-server/test/fixtures/nat-probe.ts', [SERVER_IP, String(STUN_PORT), String(HTTP_PORT), String(CLIENT_PORT)]);
  const r = await site.client.exec(process.execPath, argv, { env: tsChildEnv(), timeoutMs: 60_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { behaviour: NatBehaviour; yourAddress?: string };
}

t.test('STUN behind MASQUERADE and MASQUERADE --random-fully', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await Lab.create(t, { name: 'sn-stun-nat' });
  const pub = await lab.netns('sn-pub');
  await addBridge(pub, 'sn-br');
  await addAddress(pub, 'sn-br', `${SERVER_IP}/24`);
  const plain = await buildSite(lab, pub, 'a', false);
  const random = await buildSite(lab, pub, 'b', true);

  const server = pub.spawn(
    process.execPath,
    tsScriptArgv('cli/main.ts', [
      'server',
      '--listen', `${SERVER_IP}:${HTTP_PORT}`,
      '--stun-port', String(STUN_PORT),
      '--stun-alt-port', String(STUN_ALT_PORT),
    ]),
    { env: tsChildEnv(), name: 'sn-server' },
  );
  await server.waitForOutput(/signal server listening/, 30_000);

  const [a, b] = await Promise.all([probe(plain), probe(random)]);
  t.comment(`plain MASQUERADE: ${JSON.stringify(a)}`);
  t.comment(`--random-fully:   ${JSON.stringify(b)}`);

  for (const [name, site, result, clientIp] of [
    ['MASQUERADE', plain, a, '10.77.1.2'],
    ['--random-fully', random, b, '10.77.2.2'],
  ] as const) {
    const mapped = result.behaviour.mapped;
    t.equal(mapped?.address, site.publicIp, `${name}: the client learns its router's public address`);
    const natPort = await conntrackMappedPort(site.router, clientIp, STUN_PORT);
    t.ok(natPort !== undefined, `${name}: conntrack shows the flow to the server`);
    t.equal(mapped?.port, natPort, `${name}: and the port the router really chose (${natPort})`);
    const altPort = await conntrackMappedPort(site.router, clientIp, STUN_ALT_PORT);
    t.equal(result.behaviour.mappedAlt?.port, altPort, `${name}: the mapping toward the alternate port matches conntrack too`);
    t.equal(result.behaviour.filtering, 'port-dependent', `${name}: answers from a port never contacted are filtered`);
    t.match(result.yourAddress, new RegExp(`^${site.publicIp.replace(/\./g, '\\.')}:\\d+$`), `${name}: the signalling server sees the router too`);
  }
  t.equal(a.behaviour.mapping, 'endpoint-independent', 'plain MASQUERADE keeps one mapping for both server ports');
  t.equal(a.behaviour.mapped?.port, CLIENT_PORT, 'and (no clash) keeps the client\'s own port');
  t.equal(b.behaviour.mapping, 'endpoint-dependent', '--random-fully maps each destination anew');
  t.not(b.behaviour.mapped?.port, b.behaviour.mappedAlt?.port);

  const fetchMetrics = `fetch('http://${SERVER_IP}:${HTTP_PORT}/metrics').then((r) => r.text()).then((s) => process.stdout.write(s))`;
  const metrics = await pub.exec(process.execPath, ['-e', fetchMetrics], { env: { NODE_OPTIONS: '' } });
  t.match(metrics.stdout, /wgp2p_stun_requests_total\{result="binding_changed_port"\} ([2-9]|\d{2,})\n/, 'the server answered the change-port probes of both clients');
});
