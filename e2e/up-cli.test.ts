// `wgp2p up` as a user runs it: clean shutdown on signals, the device vanishing, each kind of
// bad start (broken file, bad key, busy port, busy name, no privilege) with a clear message,
// and `wg set` / `wg showconf` driving the running engine.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { linkedPair } from './lib/linked-pair.js';
import { Lab, type Netns } from './lib/netns.js';
import { runCommand, waitFor } from './lib/process.js';
import { requireRootOrSkip } from './lib/root.js';
import { WG_SOCKET_DIR, genKeyPair, startWireguardGo } from './lib/wireguard-go.js';
import { cliPath, startWgp2pTunnel, wgQuickText } from './lib/wgp2p-tunnel.js';

const NEEDS = { binaries: ['wg', 'wireguard-go', 'node', 'setpriv'], tun: true };

/** A config file; `world` makes it readable by the unprivileged user of the privilege test. */
async function confFile(text: string, world = false): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wgp2p-upcli-'));
  const f = join(dir, 'x.conf');
  await writeFile(f, text, { mode: world ? 0o644 : 0o600 });
  if (world) await chmod(dir, 0o755);
  return f;
}

const linkExists = async (ns: Netns, ifname: string) => (await ns.ip(['link', 'show', ifname], { allowFail: true })).code === 0;

t.test('SIGTERM and SIGINT stop the daemon cleanly and remove the device; so does deleting it', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await Lab.create(t, { name: 'upc-sig' });
  const ns = await lab.netns('upc-sig');
  const k = await genKeyPair();
  for (const [i, how] of (['SIGTERM', 'SIGINT', 'link-del'] as const).entries()) {
    const ifname = `upcs${i}`;
    const tun = await startWgp2pTunnel(ns, { ifname, privateKey: k.privateKey, listenPort: 0, address: '10.79.0.1/24', peers: [] });
    t.ok(await linkExists(ns, ifname), `${how}: device up`);
    let exit;
    if (how === 'link-del') {
      await ns.ip(['link', 'del', ifname]);
      exit = await tun.process.waitForExit(10_000);
    } else {
      exit = await tun.process.kill(how, 10_000);
    }
    t.equal(exit.signal, null, `${how}: exited by itself, not killed`);
    t.equal(exit.code, how === 'link-del' ? 1 : 0, `${how}: exit code ${exit.code}`);
    t.notOk(await linkExists(ns, ifname), `${how}: device removed`);
    t.notOk(existsSync(join(WG_SOCKET_DIR, `${ifname}.sock`)), `${how}: UAPI socket removed`);
    t.notOk(existsSync(`/var/run/wgp2p/${ifname}.sock`), `${how}: control socket removed`);
  }
});

t.test('bad starts fail at once with one clear line', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await Lab.create(t, { name: 'upc-bad' });
  const ns = await lab.netns('upc-bad');
  const k = await genKeyPair();
  const good = (port: number) => wgQuickText({ ifname: 'x', privateKey: k.privateKey, listenPort: port, address: '10.79.1.1/24', peers: [] });
  const up = async (file: string, ifname: string, asNobody = false) => {
    const argv = [cliPath(), 'up', file, '--interface', ifname];
    // env -u: the test runner's NODE_OPTIONS hooks write files nobody may not write.
    const cmd = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', 'env', '-u', 'NODE_OPTIONS', 'node', ...argv] : ['node', ...argv];
    return ns.exec(cmd[0]!, cmd.slice(1), { allowFail: true, timeoutMs: 20_000 });
  };
  const cases: [string, () => Promise<{ code: number | null; stderr: string }>, number, RegExp][] = [
    ['missing file', () => up('/nonexistent/wg.conf', 'upcb0'), 2, /cannot read \/nonexistent\/wg\.conf: ENOENT/],
    ['broken file', async () => up(await confFile('[Interface]\nPrivateKey = nope\n'), 'upcb1'), 2, /line 2: PrivateKey.*not a valid WireGuard key/],
    ['bad interface name', async () => up(await confFile(good(0)), 'this-name-is-too-long'), 2, /interface name .* is invalid/],
    ['no privilege', async () => up(await confFile(good(0), true), 'upcb2', true), 1, /needs root or CAP_NET_ADMIN/],
  ];
  for (const [name, run, code, re] of cases) {
    const r = await run();
    t.equal(r.code, code, `${name}: exit code ${r.code}`);
    t.match(r.stderr, re, `${name}: ${r.stderr.trim().split('\n').at(-1)}`);
    t.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('wgp2p:')).length, 1, `${name}: one error line`);
  }
  // Busy port and busy interface name: a first daemon holds both.
  const first = await startWgp2pTunnel(ns, { ifname: 'upcb3', privateKey: k.privateKey, listenPort: 51830, address: '10.79.2.1/24', peers: [] });
  const busyPort = await up(await confFile(good(51830)), 'upcb4');
  t.equal(busyPort.code, 1);
  t.match(busyPort.stderr, /UDP port 51830 is already in use/, 'busy port');
  t.notOk(await linkExists(ns, 'upcb4'), 'the failed start left no device behind');
  const busyName = await up(await confFile(good(0)), 'upcb3');
  t.equal(busyName.code, 1);
  t.match(busyName.stderr, /upcb3 is busy|in use/, 'busy interface name');
  t.ok(first.process.running, 'the first daemon is unharmed');
});

t.test('wg set and wg showconf drive the running engine', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await Lab.create(t, { name: 'upc-wg' });
  const [a, b] = await linkedPair(lab, ['upc-wa', 'upc-wb']);
  const ka = await genKeyPair();
  const kb = await genKeyPair();
  // Our engine starts with no peers at all; everything comes through `wg set`.
  const ours = await startWgp2pTunnel(a, { ifname: 'upcwg0', privateKey: ka.privateKey, listenPort: 51820, address: '10.79.3.1/24', peers: [] });
  const ref = await startWireguardGo(b, {
    ifname: 'upcwg1', privateKey: kb.privateKey, listenPort: 51820, address: '10.79.3.2/24',
    peers: [{ publicKey: ka.publicKey, allowedIps: ['10.79.3.1/32'] }],
  });
  await a.exec('wg', ['set', 'upcwg0', 'listen-port', '51877', 'peer', kb.publicKey, 'endpoint', '198.51.100.2:51820', 'allowed-ips', '10.79.3.2/32', 'persistent-keepalive', '5']);
  const ping = await a.exec('ping', ['-c', '2', '-i', '0.2', '-W', '5', '10.79.3.2'], { allowFail: true, timeoutMs: 20_000 });
  t.match(ping.stdout, /2 received/, 'a peer added with wg set works');
  t.equal((await ref.peerStatus(ka.publicKey)).endpoint, '198.51.100.1:51877', 'packets leave from the new listen port');
  const conf = (await a.exec('wg', ['showconf', 'upcwg0'])).stdout;
  t.match(conf, new RegExp(`\\[Interface\\]\\nListenPort = 51877\\nPrivateKey = ${ka.privateKey.replace(/[+/]/g, '\\$&')}`), 'showconf: interface');
  t.match(conf, /\[Peer\]\nPublicKey = .*\nAllowedIPs = 10\.79\.3\.2\/32\nEndpoint = 198\.51\.100\.2:51820\nPersistentKeepalive = 5/, 'showconf: peer');
  // A port that is taken is refused, and the old one keeps working.
  const holder = a.spawn('node', ['-e', "require('dgram').createSocket('udp6').bind(51878, () => console.log('bound')); setInterval(() => {}, 1000)"], { name: 'upc.holder' });
  await holder.waitForOutput(/bound/, 5000);
  const busy = await a.exec('wg', ['set', 'upcwg0', 'listen-port', '51878'], { allowFail: true });
  t.not(busy.code, 0, 'wg set reports the busy port');
  t.match(busy.stderr, /Address already in use/);
  t.equal((await ours.wgDump()).listenPort, 51877, 'the old port stays');
  await a.exec('wg', ['set', 'upcwg0', 'peer', kb.publicKey, 'remove']);
  t.same((await ours.wgDump()).peers, [], 'wg set … remove');
  await waitFor(async () => (await runCommand('node', [cliPath(), 'status', '--interface', 'upcwg0', '--json'])).stdout.includes('"peers": []'), { timeoutMs: 3000, what: 'status without peers' });
});
