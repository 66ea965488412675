// The package as a user gets it: `npm pack`, `npm install -g` of the tarball into an empty
// prefix (dependencies from the registry, the addon compiled by the install script), then the
// installed `wgp2p` alone: --version, genkey | pubkey, and a tunnel to wireguard-go that pings.
// Needs `npm run build:ts` first (the tarball ships dist/).
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { linkedPair } from './lib/linked-pair.js';
import { Lab } from './lib/netns.js';
import { runCommand, waitFor } from './lib/process.js';
import { requireRootOrSkip } from './lib/root.js';
import { WG_SOCKET_DIR, genKeyPair, startWireguardGo } from './lib/wireguard-go.js';
import { cliPath, projectRoot, wgQuickText } from './lib/wgp2p-tunnel.js';

const NEEDS = { binaries: ['npm', 'wg', 'wireguard-go', 'ping'], tun: true };
const INSTALL_TIMEOUT_MS = 240_000;

/**
 * `env -u …` argv that runs `cmd` without the test runner's hooks and the npm settings of an
 * enclosing `npm test` (the helpers merge their env over ours, so unsetting must happen here).
 */
function clean(cmd: string, args: readonly string[]): [string, string[]] {
  const drop = Object.keys(process.env).filter((k) => /^npm_/i.test(k) || k === 'NODE_OPTIONS');
  return ['env', [...drop.flatMap((k) => ['-u', k]), cmd, ...args]];
}

t.test('npm install -g of the packed tarball gives a wgp2p that works', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  cliPath(); // fails early with "run npm run build first" when dist/ is missing
  const work = await mkdtemp(join(tmpdir(), 'wgp2p-install-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const { version } = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };

  // dist/ is already built, so packing skips prepack's compile (it runs on a real `npm pack`).
  const pack = await runCommand(...clean('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work]), { timeoutMs: 60_000 });
  const tarball = join(work, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
  t.ok(existsSync(tarball), `packed ${tarball}`);

  const prefix = join(work, 'prefix');
  const started = Date.now();
  const install = await runCommand(...clean('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball]), { timeoutMs: INSTALL_TIMEOUT_MS, allowFail: true });
  t.equal(install.code, 0, `npm install -g: ${install.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  t.notMatch(install.stdout + install.stderr, /gyp info|CXX\(target\)/, 'the addon build was quiet');
  t.comment(`installed in ${Math.round((Date.now() - started) / 1000)} s`);
  const bin = join(prefix, 'bin', 'wgp2p');
  const pkgDir = join(prefix, 'lib', 'node_modules', 'wgp2p');
  t.ok(existsSync(join(pkgDir, 'agent/native/build/Release/wgp2p_tun.node')), 'the addon was compiled at install');
  t.notOk(existsSync(join(pkgDir, 'dist/e2e')), 'tests are not shipped');
  t.ok(existsSync(join(pkgDir, 'systemd/wgp2p-up@.service')), 'the systemd units are shipped');

  for (const flag of ['--version', '-V', 'version']) {
    t.equal((await runCommand(...clean(bin, [flag]))).stdout, `wgp2p ${version}\n`, `wgp2p ${flag}`);
  }
  const key = (await runCommand(...clean(bin, ['genkey']))).stdout;
  const pub = (await runCommand(...clean(bin, ['pubkey']), { input: key })).stdout;
  t.equal(pub, (await runCommand('wg', ['pubkey'], { input: key })).stdout, 'genkey | pubkey agrees with wg pubkey');

  // A tunnel from the installed command to the reference wireguard-go.
  const lab = await Lab.create(t, { name: 'install-pkg' });
  const [a, b] = await linkedPair(lab, ['ipk-a', 'ipk-b']);
  const kb = await genKeyPair();
  const ifname = 'ipkwg0';
  const conf = join(work, `${ifname}.conf`);
  await writeFile(conf, wgQuickText({
    ifname, privateKey: key.trim(), listenPort: 51820, address: '10.82.0.1/24',
    peers: [{ publicKey: kb.publicKey, endpoint: '198.51.100.2:51820', allowedIps: ['10.82.0.2/32'] }],
  }), { mode: 0o600 });
  const up = a.spawn(...clean(bin, ['up', conf]), { name: 'ipk.wgp2p' });
  await startWireguardGo(b, { ifname: 'ipkwg1', privateKey: kb.privateKey, listenPort: 51820, address: '10.82.0.2/24', peers: [{ publicKey: pub.trim(), allowedIps: ['10.82.0.1/32'] }] });
  await waitFor(() => {
    if (!up.running) throw new Error(`installed wgp2p up exited early\n${up.tail(20)}`);
    return existsSync(join(WG_SOCKET_DIR, `${ifname}.sock`));
  }, { timeoutMs: 20_000, what: 'the installed wgp2p up' });
  const ping = await a.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', '10.82.0.2'], { allowFail: true, timeoutMs: 30_000 });
  t.match(ping.stdout, /3 received/, 'ping through the tunnel');
  const down = await runCommand(...clean(bin, ['down', ifname]), { allowFail: true, timeoutMs: 30_000 });
  t.equal(down.code, 0, `wgp2p down: ${down.stderr.trim()}`);
  t.equal((await up.exited).code, 0, 'the installed daemon stopped cleanly');
});
