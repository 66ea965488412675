// `wgp2p join`, `wgp2p secret` and `wgp2p ping` from the command line: every broken flag is one
// clear line and exit code 2 (usage) or 1 (environment), before anything touches the system.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, tsChildEnv, tsScriptArgv } from '../../signal-server/test/node-child.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The compiled CLI when `npm test` has built it (a start costs ~0.2 s instead of ~1.5 s through
 * the TypeScript loader, and this file starts dozens); the sources otherwise.
 */
function cliArgv(args: string[]): string[] {
  const built = join(REPO_ROOT, 'dist/cli/main.js');
  return existsSync(built) ? [built, ...args] : tsScriptArgv('cli/main.ts', args);
}

function wgp2p(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const base = { ...process.env };
    delete base.WGP2P_SECRET;
    const child = spawn(process.execPath, cliArgv(args), { env: { ...base, ...tsChildEnv(env) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `fn` over `items`, at most `limit` at a time, results in order (each CLI start costs ~1.5 s). */
async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const server = ['--server', 'ws://192.0.2.1:8080/ws'];
const room = ['--room', 'office'];
const secret = ['--secret', 'a-good-long-secret-for-tests'];

t.test('join: every bad flag is one clear line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wgp2p-join-cli-'));
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, 'x\n');
  const cases: [string, string[], Record<string, string>, number, RegExp][] = [
    ['no room', [...server, ...secret], {}, 2, /--room and --server are required/],
    ['no server', [...room, ...secret], {}, 2, /--room and --server are required/],
    ['no secret anywhere', [...room, ...server], {}, 2, /no room secret: give --secret S, --secret-file F or set WGP2P_SECRET/],
    ['empty WGP2P_SECRET', [...room, ...server], { WGP2P_SECRET: '' }, 2, /no room secret/],
    ['both secret flags', [...room, ...server, ...secret, '--secret-file', secretFile], {}, 2, /either --secret or --secret-file/],
    ['missing secret file', [...room, ...server, '--secret-file', join(dir, 'nope')], {}, 2, /cannot read the secret file .*ENOENT/],
    ['not a host or URL', [...room, '--server', 'a:b:c', ...secret], {}, 2, /--server: .*expected host, host:port/],
    ['ftp URL', [...room, '--server', 'ftp://signal.example/ws', ...secret], {}, 2, /scheme must be ws:\/\/, wss:\/\/, http:\/\/ or https:\/\//],
    ['bad address', [...room, ...server, ...secret, '--address', '10.147.0.0/16'], {}, 2, /network or broadcast/],
    ['IPv6 address', [...room, ...server, ...secret, '--address', 'fd00::2/64'], {}, 2, /not an IPv4 address/],
    ['bad port', [...room, ...server, ...secret, '--listen-port', '70000'], {}, 2, /--listen-port: expected an integer from 0 to 65535/],
    ['bad keepalive', [...room, ...server, ...secret, '--keepalive', 'often'], {}, 2, /--keepalive: expected an integer/],
    ['bad name', [...room, ...server, ...secret, '--name', 'a b'], {}, 2, /--name: expected 1-63 of .*, got "a b"/],
    ['bad interface', [...room, ...server, ...secret, '--interface', 'much-too-long-name'], {}, 2, /interface name .* is invalid/],
    ['bad log level', [...room, ...server, ...secret, '--log-level', 'loud'], {}, 2, /--log-level: expected debug, info, warn, error or silent/],
    ['unknown flag', [...room, ...server, ...secret, '--turbo'], {}, 2, /unknown option --turbo/],
    ['flag without value', [...room, ...server, '--secret'], {}, 2, /--secret needs a value/],
    ['stray argument', ['office', ...room, ...server, ...secret], {}, 2, /unexpected argument "office"/],
    ['bad mtu', [...room, ...server, ...secret, '--mtu', '100'], {}, 2, /--mtu: expected an integer from 1280 to 9000/],
    ['empty token', [...room, ...server, ...secret, '--token='], {}, 2, /--token: expected 1 to 256 characters/],
    ['bad metrics address', [...room, ...server, ...secret, '--metrics-listen', 'everywhere'], {}, 2, /is not ip:port/],
    ['route with host bits', [...room, ...server, ...secret, '--advertise-routes', '192.168.1.1/24'], {}, 2, /--advertise-routes: "192\.168\.1\.1\/24": host bits are set \(did you mean 192\.168\.1\.0\/24\?\)/],
    ['route in the room subnet', [...room, ...server, ...secret, '--advertise-routes', '10.0.0.0/8'], {}, 2, /--advertise-routes 10\.0\.0\.0\/8 overlaps the room subnet 10\.147\.0\.0\/16/],
    ['loopback route', [...room, ...server, ...secret, '--advertise-routes', '127.0.0.0/8'], {}, 2, /loopback space/],
    ['route around the room IPv6 space', [...room, ...server, ...secret, '--advertise-routes', '192.168.1.0/24,fd77:7770::/32'], {}, 2, /--advertise-routes fd77:7770::\/32 overlaps the room subnet fd77:7770:2a00::\/96/],
    ['IPv6 link-local route', [...room, ...server, ...secret, '--advertise-routes', 'fe80::/64'], {}, 2, /link-local space/],
    ['snat without routes', [...room, ...server, ...secret, '--snat-routes'], {}, 2, /--snat-routes needs --advertise-routes/],
    ['allow-lan without exit node', [...room, ...server, ...secret, '--exit-node-allow-lan'], {}, 2, /--exit-node-allow-lan needs --exit-node/],
    ['exit node and offering one', [...room, ...server, ...secret, '--exit-node', 'vps', '--advertise-exit-node'], {}, 2, /exclude each other/],
    ['bad exit node', [...room, ...server, ...secret, '--exit-node', 'a b'], {}, 2, /--exit-node: expected a member name or base64 public key/],
    ['unusable state dir', [...room, ...server, ...secret, '--state-dir', join(secretFile, 'sub')], {}, 1, /cannot create state directory .*not a directory/],
  ];
  const runs = await inParallel(cases, 4, ([, args, env]) => wgp2p(['join', ...args], env));
  for (const [i, [what, , , code, message]] of cases.entries()) {
    const r = runs[i]!;
    t.equal(r.code, code, `${what}: exit ${code}`);
    t.match(r.stderr, message, `${what}: ${r.stderr.trim().split('\n')[0]}`);
    t.ok(r.stderr.trim().split('\n').length <= 20 && !/\n\s+at /.test(r.stderr), `${what}: no stack trace`);
  }
  const flagged = runs[cases.findIndex(([what]) => what === 'unusable state dir')]!;
  t.match(flagged.stderr, /--secret on the command line is visible to every local user/, 'a secret given as a flag is warned about');
  const fromFile = await wgp2p(['join', ...room, ...server, '--secret-file', secretFile, '--token', 'tok', '--state-dir', join(secretFile, 'sub')]);
  t.notMatch(fromFile.stderr, /--secret on the command line/, 'not when it comes from a file');
  t.match(fromFile.stderr, /--token on the command line is visible to every local user/, 'a token given as a flag is warned about');
  const help = await wgp2p(['join', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--room NAME[\s\S]*--secret-file F[\s\S]*--keepalive SECONDS/);
  t.match(help.stdout, /--mtu N +the TUN MTU \(default 1380:/, 'defaults are filled in');
  t.notMatch(help.stdout, /\$\{/, 'no placeholder left in the help');
  t.match(help.stdout, /--config FILE/, 'the help names --config');
  t.match(help.stdout, /--advertise-routes CIDRS[\s\S]*--accept-routes[\s\S]*--exit-node NAME[\s\S]*--exit-node-allow-lan/, 'routes and exit nodes in the help');
  t.match(help.stdout, /WGP2P_LISTEN_PORT/, 'and the environment variables');
});

t.test('join: --config FILE and WGP2P_* variables, flags > environment > file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wgp2p-join-config-'));
  const blocked = join(dir, 'not-a-dir');
  writeFileSync(blocked, 'x');
  // A state directory that cannot be made stops a run that got past the options with exit 1
  // before it touches the system, and its message names the path that won.
  const base = { room: 'office', server: 'ws://192.0.2.1:8080/ws', secret: 'a-good-long-secret-for-tests', stateDir: join(blocked, 'from-file') };
  const write = (name: string, config: object) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(config));
    return file;
  };
  const good = write('good.json', base);
  const badMtu = write('bad-mtu.json', { ...base, mtu: 100 });
  const unknownKey = write('unknown-key.json', { ...base, colour: 'blue' });
  const flagDir = ['--state-dir', join(blocked, 'from-flag')];
  const envDir = { WGP2P_STATE_DIR: join(blocked, 'from-env') };
  const cases: [string, string[], Record<string, string>, number, RegExp][] = [
    ['bad value in the file', ['--config', badMtu], {}, 2, /^wgp2p: config file mtu: expected an integer from 1280 to 9000, got "100"$/m],
    ['the file alone', ['--config', good], {}, 1, /cannot create state directory .*from-file/],
    ['a variable beats the file', ['--config', good], envDir, 1, /cannot create state directory .*from-env/],
    ['a flag beats the file', ['--config', good, ...flagDir], {}, 1, /cannot create state directory .*from-flag/],
    ['a flag beats a variable', ['--config', good, ...flagDir], envDir, 1, /cannot create state directory .*from-flag/],
    ['WGP2P_CONFIG names the file', [], { WGP2P_CONFIG: badMtu }, 2, /config file mtu: expected an integer/],
    ['unknown key in the file', ['--config', unknownKey], {}, 2, /config file: unknown key "colour"/],
    ['missing file', ['--config', join(dir, 'nope.json')], {}, 2, /cannot read config file .*nope\.json: ENOENT/],
    ['bad variable', ['--config', good], { WGP2P_LISTEN_PORT: '70000' }, 2, /WGP2P_LISTEN_PORT: expected an integer from 0 to 65535/],
  ];
  const runs = await inParallel(cases, 4, ([, args, env]) => wgp2p(['join', ...args], env));
  for (const [i, [what, , , code, message]] of cases.entries()) {
    const r = runs[i]!;
    t.equal(r.code, code, `${what}: exit ${code}`);
    t.match(r.stderr, message, `${what}: ${r.stderr.trim().split('\n')[0]}`);
  }
});

t.test('secret prints a new strong secret; ping needs a running agent', async (t) => {
  const a = await wgp2p(['secret']);
  const b = await wgp2p(['secret']);
  t.equal(a.code, 0);
  t.match(a.stdout, /^[A-Za-z0-9_-]{43}\n$/);
  t.not(a.stdout, b.stdout);
  t.equal((await wgp2p(['secret', 'extra'])).code, 2);
  const noPeer = await wgp2p(['ping']);
  t.equal(noPeer.code, 2);
  t.match(noPeer.stderr, /usage: wgp2p ping PEER/);
  const ping = await wgp2p(['ping', 'bob', '--interface', 'wgp2p-none']);
  t.equal(ping.code, 1);
  t.match(ping.stderr, /no wgp2p daemon runs interface wgp2p-none/);
  const main = await wgp2p(['help']);
  t.match(main.stdout, /join --room NAME --server URL[\s\S]*ping PEER[\s\S]*secret/);
});
