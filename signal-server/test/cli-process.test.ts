// `wgp2p server` as an operator runs it: a separate process configured from a file, the
// environment and flags, stopped gracefully by SIGTERM, and failing clearly on bad input.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { blob, roomId, sleep, TestClient } from './helpers.js';
import { ServerProcess } from './node-child.js';
import { rawWebSocket, textFrame } from './raw-ws.js';

async function tempConfig(t: Test, config: object): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wgp2p-server-cfg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'server.json');
  await writeFile(file, JSON.stringify(config));
  return file;
}

function startServer(t: Test, args: string[], env: Record<string, string> = {}): ServerProcess {
  const p = new ServerProcess(args, env);
  t.teardown(() => p.stop());
  return p;
}

t.test('configured from file, environment and flags; SIGTERM shuts down gracefully', async (t) => {
  const file = await tempConfig(t, { listen: '127.0.0.2:0', token: 'from-file', shutdownGraceMs: 800 });
  const server = startServer(t, ['--stun-port', 'off', '--relay', '--no-ws-relay'], {
    WGP2P_CONFIG: file,
    WGP2P_LISTEN: '127.0.0.1:0',
    WGP2P_STUN_PORT: '0',
    WGP2P_RELAY_PORT: '0',
    WGP2P_WS_RELAY: 'true',
  });
  const record = await server.waitForLog('signal server listening');
  t.match(record.listen, /^127\.0\.0\.1:\d+$/, 'the environment beats the file (listen)');
  t.equal(record.stunPort, null, 'a flag beats the environment (--stun-port off)');
  t.ok(Number.isInteger(record.relayPort) && (record.relayPort as number) > 0, `--relay runs the UDP relay (port ${String(record.relayPort)})`);
  t.equal(record.wsRelay, false, '--no-ws-relay beats WGP2P_WS_RELAY');
  t.equal(record.tokenRequired, true, 'the file alone sets the token');
  const { httpPort } = await server.listening();
  const url = `ws://127.0.0.1:${httpPort}/ws`;

  const stranger = await TestClient.connect(url);
  stranger.send({ type: 'hello', v: 2 });
  t.equal(((await stranger.next((m) => m.type === 'error')) as { code: string }).code, 'UNAUTHORIZED');
  t.equal(await stranger.closed, 1008, 'no token, no service');

  const room = roomId();
  const [a, b] = await Promise.all([TestClient.join(url, 'from-file'), TestClient.join(url, 'from-file')]);
  for (const c of [a, b]) {
    c.send({ type: 'join', room, announce: blob() });
    await c.next((m) => m.type === 'members');
  }
  // A client that will never answer the close handshake must not hold the shutdown forever.
  const stubborn = await rawWebSocket(httpPort);
  stubborn.write(textFrame('{"type":"hello","v":2,"token":"from-file"}'));
  await sleep(100);
  stubborn.pause();

  const start = performance.now();
  server.child.kill('SIGTERM');
  t.equal(await a.closed, 1001, 'agents are told the server is going away');
  t.equal(await b.closed, 1001);
  t.equal(b.ofType('member-left').length, 0, 'members are not told about each other leaving during shutdown');
  const exit = await server.exited;
  const took = performance.now() - start;
  t.same(exit, { code: 0, signal: null }, 'exit code 0 after a clean shutdown');
  t.ok(took >= 700, `the stubborn client got its grace period (${took.toFixed(0)} ms)`);
  t.ok(took < 6000, 'and then was cut off');
  const messages = server.logs.map((r) => r.msg);
  t.ok(messages.indexOf('shutting down') < messages.indexOf('signal server stopped'), 'logged the shutdown');
  t.equal(server.logs.find((r) => r.msg === 'shutting down')?.signal, 'SIGTERM');
  t.ok(server.logs.every((r) => typeof r.time === 'string' && typeof r.level === 'string'), 'every log line is structured JSON');
  stubborn.destroy();
});

t.test('a second signal during shutdown exits at once', async (t) => {
  const server = startServer(t, ['--listen', '127.0.0.1:0', '--stun-port', 'off', '--shutdown-grace-ms', '60000']);
  const { httpPort } = await server.listening();
  const stubborn = await rawWebSocket(httpPort);
  t.teardown(() => stubborn.destroy());
  stubborn.write(textFrame('{"type":"hello","v":2}'));
  await sleep(100);
  stubborn.pause();
  server.child.kill('SIGTERM');
  await server.waitForLog('shutting down');
  const start = performance.now();
  server.child.kill('SIGINT');
  const exit = await server.exited;
  t.same(exit, { code: 1, signal: null }, 'exit code 1');
  t.ok(performance.now() - start < 5000, 'without waiting for the 60 s grace period');
});

t.test('bad usage, help, and a port in use', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const busyPort = (blocker.address() as net.AddressInfo).port;

  const badFlag = startServer(t, ['--listen', 'nowhere']);
  const badEnv = startServer(t, [], { WGP2P_MAX_ROOMS: 'lots' });
  const help = startServer(t, ['--help']);
  const busy = startServer(t, ['--listen', `127.0.0.1:${busyPort}`, '--stun-port', 'off']);
  const missingFile = startServer(t, ['--config', '/nonexistent/wgp2p.json']);

  t.equal((await badFlag.exited).code, 2, 'usage error: exit code 2');
  t.match(badFlag.stderr, /wgp2p server: --listen: expected HOST:PORT/);
  t.equal((await badEnv.exited).code, 2);
  t.match(badEnv.stderr, /WGP2P_MAX_ROOMS: expected an integer/);
  t.equal((await missingFile.exited).code, 2);
  t.match(missingFile.stderr, /cannot read config file \/nonexistent\/wgp2p\.json: ENOENT/);
  t.equal((await help.exited).code, 0);
  t.equal((await busy.exited).code, 1, 'startup failure: exit code 1');
  t.match(busy.logs.find((r) => r.level === 'error')?.error, /EADDRINUSE/);
});
