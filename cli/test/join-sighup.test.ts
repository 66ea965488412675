// `wgp2p join --config FILE` and SIGHUP, as a user runs it: a new log level applies at once,
// other changes are named as needing a restart, and a broken file keeps the agent running on
// what it had. Needs root (a TUN device); `--server host:port` is the form used here. The server
// is a stand-in that sends a frame that is not JSON when asked: the agent logs that at debug.
import t from 'tap';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsChildEnv, tsScriptArgv, type LogRecord } from '../../signal-server/test/node-child.js';
import { sleep, waitFor } from '../../signal-server/test/helpers.js';

const START_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 10_000;
/** Long enough for the agent to have handled a frame it was sent. */
const SETTLE_MS = 500;
const INVALID_FRAME = 'ignoring an invalid frame from the server';

t.test('SIGHUP re-reads --config FILE', { skip: process.getuid?.() === 0 ? false : 'needs root for the TUN device' }, async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  t.teardown(() => wss.close());
  const port = (wss.address() as AddressInfo).port;
  let agentWs: WebSocket | undefined;
  wss.on('connection', (ws) => (agentWs = ws));
  const garbage = () => agentWs?.send('not json');
  const dir = mkdtempSync(join(tmpdir(), 'wgp2p-sighup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'join.json');
  const tag = randomBytes(3).toString('hex');
  const base = {
    room: `sighup-${tag}`,
    server: `127.0.0.1:${port}`,
    secret: 'a-good-long-secret-for-tests',
    stateDir: join(dir, 'state'),
    interface: `wghup${tag}`,
    address: `10.${200 + (randomBytes(1)[0]! % 50)}.${randomBytes(1)[0]!}.1/24`,
    logLevel: 'info',
    logFormat: 'json',
  };
  writeFileSync(file, JSON.stringify(base));

  const logs: LogRecord[] = [];
  let rest = '';
  const env = { ...process.env };
  delete env.WGP2P_SECRET;
  delete env.WGP2P_CONFIG;
  const child = spawn(process.execPath, tsScriptArgv('cli/main.ts', ['join', '--config', file]), { env: { ...env, ...tsChildEnv() }, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => child.kill('SIGKILL'));
  child.stderr.on('data', (d: Buffer) => {
    const parts = (rest + d.toString('utf8')).split('\n');
    rest = parts.pop()!;
    for (const line of parts) if (line.startsWith('{')) logs.push(JSON.parse(line) as LogRecord);
  });
  const seen = (match: (l: LogRecord) => boolean) => logs.some(match);
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));

  await waitFor(() => (seen((l) => l.msg === 'joining') && agentWs !== undefined) || exitCode !== undefined, START_TIMEOUT_MS, 'the agent connecting');
  t.equal(exitCode, undefined, 'the agent runs');
  const joining = logs.find((l) => l.msg === 'joining')!;
  t.equal(joining.server, `ws://127.0.0.1:${port}/ws`, 'host:port is logged as the normalised URL');
  garbage();
  await sleep(SETTLE_MS);
  t.notOk(seen((l) => l.level === 'debug'), 'no debug lines at level info');

  writeFileSync(file, JSON.stringify({ ...base, logLevel: 'debug', keepalive: 10, mtu: 1400 }));
  const before = logs.length;
  child.kill('SIGHUP');
  const needsRestart = (l: LogRecord) => /^SIGHUP: changed options need a restart/.test(l.msg);
  await waitFor(() => seen((l) => l.msg === 'SIGHUP: options re-read') && seen(needsRestart), STEP_TIMEOUT_MS, 'the reload');
  const reload = logs.find((l) => l.msg === 'SIGHUP: options re-read')!;
  t.strictSame(reload.applied, ['--keepalive=10', '--log-level="debug"'], 'the log level and the keepalive apply live');
  const restart = logs.find(needsRestart);
  t.strictSame(restart?.options, ['--mtu'], 'the MTU needs a restart, and says so');
  garbage();
  await waitFor(() => logs.slice(before).some((l) => l.level === 'debug' && l.msg === INVALID_FRAME), STEP_TIMEOUT_MS, 'debug lines');
  t.pass('the same frame now gives a debug line');

  writeFileSync(file, '{ "logLevel": "warn", ');
  child.kill('SIGHUP');
  await waitFor(() => seen((l) => l.msg === 'SIGHUP: the options did not load; keeping the running settings'), STEP_TIMEOUT_MS, 'the broken file noticed');
  const broken = logs.find((l) => /did not load/.test(l.msg))!;
  t.equal(broken.level, 'error');
  t.equal(broken.code, 'bad_file');
  t.match(broken.error, /not valid JSON/);
  await sleep(SETTLE_MS);
  t.equal(exitCode, undefined, 'a broken file keeps the agent running');
  const afterBroken = logs.length;
  garbage();
  await waitFor(() => logs.slice(afterBroken).some((l) => l.level === 'debug' && l.msg === INVALID_FRAME), STEP_TIMEOUT_MS, 'debug lines still');
  t.pass('and on the level it had');

  // `wgp2p down IFACE` stops a join as it stops an up, and waits until it is gone.
  const down = spawn(process.execPath, tsScriptArgv('cli/main.ts', ['down', base.interface]), { env: { ...env, ...tsChildEnv() }, stdio: ['ignore', 'ignore', 'pipe'] });
  const downCode = await new Promise<number | null>((r) => down.on('exit', (code) => r(code)));
  t.equal(downCode, 0, 'wgp2p down returns once the agent is gone');
  t.equal(await exited, 0, 'and the agent ended cleanly');
});
