// wg-quick's host keys under `wgp2p up`: PostUp/PostDown iptables rules exist exactly while the
// tunnel is up, DNS goes into the namespace's own resolv.conf (ip netns exec bind-mounts
// /etc/netns/NAME/resolv.conf, so the host's is never touched) and comes back after
// `wgp2p down`, Table = N routes into that table, and a failing PostUp undoes the start.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Lab, type Netns } from './lib/netns.js';
import { waitFor } from './lib/process.js';
import { requireRootOrSkip } from './lib/root.js';
import { genKeyPair } from './lib/wireguard-go.js';
import { cliPath } from './lib/wgp2p-tunnel.js';

const NEEDS = { binaries: ['wg', 'node', 'iptables'], tun: true };
const ORIGINAL_RESOLV = 'nameserver 203.0.113.1\nsearch before.example\n';
const TABLE = 4321;

/** A namespace with a resolv.conf of its own, removed when the lab goes. */
async function nsWithResolvConf(lab: Lab, name: string): Promise<Netns> {
  const dir = `/etc/netns/${name}`;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'resolv.conf'), ORIGINAL_RESOLV);
  lab.defer(() => rm(dir, { recursive: true, force: true }));
  return lab.netns(name);
}

async function confFile(ifname: string, body: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wgp2p-uphooks-'));
  const file = join(dir, `${ifname}.conf`);
  await writeFile(file, body, { mode: 0o600 });
  return file;
}

const forwardRules = async (ns: Netns) => (await ns.exec('iptables', ['-S', 'FORWARD'])).stdout;
const resolvConf = async (ns: Netns) => (await ns.exec('cat', ['/etc/resolv.conf'])).stdout;
const env = { WGP2P_DNS_METHOD: 'file' };

t.test('PostUp/PostDown rules, DNS and Table live exactly as long as the tunnel', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const hostResolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const lab = await Lab.create(t, { name: 'up-hooks' });
  const ns = await nsWithResolvConf(lab, 'uph-a');
  const k = await genKeyPair();
  const peer = await genKeyPair();
  const ifname = 'uphwg0';
  const file = await confFile(ifname, `[Interface]
PrivateKey = ${k.privateKey}
Address = 10.81.0.1/24
DNS = 192.0.2.53, hooks.example
Table = ${TABLE}
PostUp = iptables -A FORWARD -i %i -j ACCEPT
PostUp = iptables -A FORWARD -o %i -j ACCEPT
PreDown = iptables -D FORWARD -o %i -j ACCEPT
PostDown = iptables -D FORWARD -i %i -j ACCEPT

[Peer]
PublicKey = ${peer.publicKey}
AllowedIPs = 10.81.1.0/24
`);
  const proc = ns.spawn('node', [cliPath(), 'up', file], { name: 'uph.up', env });
  await waitFor(async () => {
    if (!proc.running) throw new Error(`wgp2p up exited early\n${proc.tail(20)}`);
    return (await forwardRules(ns)).includes(`-A FORWARD -o ${ifname} -j ACCEPT`);
  }, { timeoutMs: 20_000, what: 'the PostUp rules' });
  const rules = await forwardRules(ns);
  t.match(rules, `-A FORWARD -i ${ifname} -j ACCEPT`, 'first PostUp rule, %i replaced');
  t.match(rules, `-A FORWARD -o ${ifname} -j ACCEPT`, 'second PostUp rule');
  t.equal(await resolvConf(ns), `# written by wgp2p up for ${ifname}; the old contents come back when it stops\nnameserver 192.0.2.53\nsearch hooks.example\n`, 'DNS in the namespace');
  t.match((await ns.ip(['route', 'show', 'table', String(TABLE)])).stdout, `10.81.1.0/24 dev ${ifname}`, `the peer's route is in table ${TABLE}`);
  t.notMatch((await ns.ip(['route', 'show', 'table', 'main'])).stdout, '10.81.1.0/24', 'and not in main');

  const down = await ns.exec('node', [cliPath(), 'down', ifname], { allowFail: true, timeoutMs: 30_000 });
  t.equal(down.code, 0, `wgp2p down: ${down.stderr.trim()}`);
  t.notOk(proc.running, 'down returned after the daemon was gone');
  t.equal((await proc.exited).code, 0, 'the daemon exited 0');
  const after = await forwardRules(ns);
  t.notMatch(after, ifname, 'PreDown and PostDown removed both rules');
  t.equal(await resolvConf(ns), ORIGINAL_RESOLV, 'resolv.conf restored');
  t.equal((await ns.ip(['link', 'show', ifname], { allowFail: true })).code, 1, 'device gone');
  t.equal(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''), hostResolv, "the host's resolv.conf was never touched");

  const again = await ns.exec('node', [cliPath(), 'down', ifname], { allowFail: true });
  t.equal(again.code, 1, 'down on an interface that is not running fails');
  t.match(again.stderr, /^wgp2p: error: no wgp2p daemon runs interface uphwg0/);
});

t.test('a failing PostUp aborts the start and undoes it', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await Lab.create(t, { name: 'up-hooks-fail' });
  const ns = await nsWithResolvConf(lab, 'uph-b');
  const k = await genKeyPair();
  const ifname = 'uphwg1';
  const file = await confFile(ifname, `[Interface]
PrivateKey = ${k.privateKey}
Address = 10.81.2.1/24
DNS = 192.0.2.54
PostUp = iptables -A FORWARD -i %i -j ACCEPT
PostUp = exit 7
PostDown = echo never
`);
  const r = await ns.exec('node', [cliPath(), 'up', file], { allowFail: true, timeoutMs: 30_000, env });
  t.equal(r.code, 1, 'exit 1');
  t.match(r.stderr, /^wgp2p: error: PostUp command failed \(exit 7\): exit 7$/m, 'names the failed command');
  t.equal(r.stderr.split('\n').filter((l) => l.startsWith('wgp2p:')).length, 1, 'one error line');
  t.notMatch(r.stdout, 'never', 'no down hooks after a failed start (as wg-quick)');
  t.equal((await ns.ip(['link', 'show', ifname], { allowFail: true })).code, 1, 'no device left');
  t.equal(await resolvConf(ns), ORIGINAL_RESOLV, 'resolv.conf restored');
});
