// Proves the e2e harness against the reference implementation alone: two
// wireguard-go peers in two namespaces joined by a veth "internet".
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runIperf } from './lib/iperf.js';
import { linkedPair } from './lib/linked-pair.js';
import { Lab, Netns } from './lib/netns.js';
import { CommandError, ManagedProcess, runCommand, waitFor } from './lib/process.js';
import { requireRootOrSkip, type TestLike } from './lib/root.js';
import { WG_SOCKET_DIR, genKeyPair, genPresharedKey, parseWgDump, startWireguardGo } from './lib/wireguard-go.js';

const NEEDS = { binaries: ['wireguard-go', 'wg', 'iperf3', 'ping', 'ss', 'sysctl'], tun: true, probeName: 'hx-probe' };

t.test('process helpers', async (t) => {
  const err = await runCommand('sh', ['-c', 'echo boom >&2; exit 3']).catch((e: unknown) => e);
  t.ok(err instanceof CommandError, 'non-zero exit throws CommandError');
  t.match((err as Error).message, /exited with code 3: boom/, 'message carries exit code and stderr');
  const ok = await runCommand('sh', ['-c', 'exit 4'], { allowFail: true });
  t.equal(ok.code, 4, 'allowFail resolves with the code');
  t.equal((await runCommand('cat', [], { input: 'piped' })).stdout, 'piped', 'input reaches stdin');

  let calls = 0;
  const slow = await waitFor(() => ++calls >= 3 && calls, { intervalMs: 5, timeoutMs: 2000 });
  t.equal(slow, 3, 'waitFor returns the first truthy value');
  await t.rejects(waitFor(() => false, { timeoutMs: 100, intervalMs: 10, what: 'hx never' }), /timed out after 100 ms .*waiting for hx never/);

  // A process that ignores SIGTERM must be escalated to SIGKILL.
  const stubborn = new ManagedProcess('sh', ['-c', 'trap "" TERM; echo ready; exec sleep 30'], { name: 'hx-stubborn' });
  const m = await stubborn.waitForOutput(/rea(dy)/, 5000);
  t.equal(m[1], 'dy', 'waitForOutput returns the match');
  const started = Date.now();
  const exit = await stubborn.kill('SIGTERM', 300);
  t.equal(exit.signal, 'SIGKILL', 'escalated to SIGKILL');
  t.ok(Date.now() - started < 5000, 'escalation was prompt');
  t.notOk(stubborn.running);

  const quitter = new ManagedProcess('sh', ['-c', 'echo bye; exit 7'], { name: 'hx-quitter' });
  await t.rejects(quitter.waitForOutput(/never printed/, 5000), /exited with code 7/, 'exit before match rejects at once');
  t.match(quitter.tail(), /bye/, 'tail shows the output');
  t.equal((await quitter.waitForExit(1000)).code, 7);
});

t.test('requireRootOrSkip skips locally but fails under CI', async (t) => {
  const calls: string[] = [];
  const fake: TestLike = {
    plan: (n, comment) => { calls.push(`plan ${n} ${comment ?? ''}`); },
    fail: (msg) => { calls.push(`fail ${msg}`); },
    comment: () => {},
    teardown: () => {},
    passing: () => true,
  };
  const realGetuid = process.getuid;
  const realCI = process.env.CI;
  process.getuid = () => 1000; // pretend to be an ordinary user
  try {
    delete process.env.CI;
    t.equal(await requireRootOrSkip(fake), false, 'not root: do not go on');
    t.match(calls.splice(0), [/^plan 0 skipped: .*root/], 'locally the test is skipped with the reason');
    process.env.CI = 'true';
    t.equal(await requireRootOrSkip(fake), false);
    t.match(calls.splice(0), [/^fail CI=true: .*root/], 'under CI it fails instead');
  } finally {
    process.getuid = realGetuid;
    if (realCI === undefined) delete process.env.CI;
    else process.env.CI = realCI;
  }
});

t.test('wg dump parser', async (t) => {
  const key = (c: string): string => c.repeat(43) + '=';
  const dump = parseWgDump(
    `${key('a')}\t${key('b')}\t51820\toff\n` +
      `${key('c')}\t(none)\t198.51.100.2:51821\t10.99.0.2/32,fd99::2/128\t1700000000\t1234\t5678\t25\n` +
      `${key('d')}\t${key('e')}\t(none)\t(none)\t0\t0\t0\toff\n`,
  );
  t.equal(dump.listenPort, 51820);
  t.equal(dump.fwmark, undefined);
  t.same(dump.peers[0], {
    publicKey: key('c'), presharedKey: undefined, endpoint: '198.51.100.2:51821',
    allowedIps: ['10.99.0.2/32', 'fd99::2/128'], latestHandshake: 1700000000, rx: 1234, tx: 5678, keepalive: 25,
  });
  t.same(dump.peers[1]?.allowedIps, []);
  t.equal(dump.peers[1]?.keepalive, 0);
  t.throws(() => parseWgDump(`${key('a')}\t${key('b')}\t51820\toff\nshort\tline\n`), /unexpected peer line/);
});

t.test('Netns.create is idempotent and kills leftovers', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await Lab.create(t, { name: 'hx-idem' });
  const first = await Netns.create('hx-c');
  lab.defer(() => Netns.deleteIfExists('hx-c')); // in case we fail before the lab owns it
  const sleeper = first.spawn('sleep', ['60']);
  await waitFor(async () => (await first.pids()).length === 1, { timeoutMs: 5000, what: 'sleep running in hx-c' });
  // A second create of the same name stands for the next run after a crash.
  const second = await lab.netns('hx-c');
  const exit = await sleeper.waitForExit(5000);
  t.equal(exit.signal, 'SIGKILL', 'leftover process was killed');
  t.same(await second.pids(), [], 'the new namespace is empty');
  const lo = await second.exec('ip', ['-o', 'link', 'show', 'lo']);
  t.match(lo.stdout, /[<,]UP[,>]/, 'lo is up');
  await lab.destroy();
  t.notOk(Netns.exists('hx-c'), 'destroy removed the namespace');
});

t.test('two wireguard-go peers over a veth internet', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await Lab.create(t, { name: 'hx-harness' });
  const [a, b] = await linkedPair(lab, ['hx-a', 'hx-b'], ['hxveth-a', 'hxveth-b']);
  await a.exec('ping', ['-c', '1', '-W', '2', '198.51.100.2']);

  const ka = await genKeyPair();
  const kb = await genKeyPair();
  const psk = await genPresharedKey();
  const wgA = await startWireguardGo(a, {
    ifname: 'hxwga', privateKey: ka.privateKey, listenPort: 51820, address: ['10.99.0.1/24', 'fd99::1/64'], mtu: 1420,
    peers: [{ publicKey: kb.publicKey, presharedKey: psk, endpoint: '198.51.100.2:51821', allowedIps: ['10.99.0.2/32', 'fd99::2/128'] }],
  });
  const wgB = await startWireguardGo(b, {
    ifname: 'hxwgb', privateKey: kb.privateKey, listenPort: 51821, address: ['10.99.0.2/24', 'fd99::2/64'],
    peers: [{ publicKey: ka.publicKey, presharedKey: psk, endpoint: '198.51.100.1:51820', allowedIps: ['10.99.0.1/32', 'fd99::1/128'], persistentKeepalive: 25 }],
  });
  t.equal(wgA.publicKey, ka.publicKey, 'handle knows its public key');
  t.ok(existsSync(join(WG_SOCKET_DIR, 'hxwga.sock')), 'UAPI socket exists');
  t.match(await wgA.wgShow(), /interface: hxwga[\s\S]*preshared key: \(hidden\)/, 'wg show lists the interface and the psk');

  const startedAt = Math.floor(Date.now() / 1000);
  const ping4 = await a.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', '10.99.0.2'], { timeoutMs: 20_000 });
  t.match(ping4.stdout, /3 packets transmitted, 3 received/, 'IPv4 ping through the tunnel');
  const ping6 = await a.exec('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '5', 'fd99::2'], { timeoutMs: 20_000 });
  t.match(ping6.stdout, /3 packets transmitted, 3 received/, 'IPv6 ping through the tunnel');

  const peerOfA = await wgA.peerStatus(kb.publicKey);
  const peerOfB = await wgB.peerStatus(ka.publicKey);
  for (const [side, p] of [['a', peerOfA], ['b', peerOfB]] as const) {
    t.ok(p.latestHandshake >= startedAt - 5 && p.latestHandshake <= Math.floor(Date.now() / 1000) + 1, `${side}: recent handshake (${p.latestHandshake})`);
    t.ok(p.rx > 0 && p.tx > 0, `${side}: rx ${p.rx} / tx ${p.tx} non-zero`);
    t.equal(p.presharedKey, psk, `${side}: psk configured`);
  }
  t.equal(peerOfA.endpoint, '198.51.100.2:51821');
  t.equal(peerOfB.endpoint, '198.51.100.1:51820');
  t.equal(peerOfB.keepalive, 25);
  t.same(peerOfA.allowedIps.sort(), ['10.99.0.2/32', 'fd99::2/128']);

  const rxBefore = peerOfB.rx;
  const up = await runIperf(a, b, '10.99.0.2', { seconds: 2 });
  t.ok(up.bytes > 0 && up.bitsPerSecond > 0, `iperf3 a->b moved ${up.bytes} bytes at ${(up.bitsPerSecond / 1e6).toFixed(1)} Mbit/s`);
  const rxAfter = (await wgB.peerStatus(ka.publicKey)).rx;
  t.ok(rxAfter - rxBefore >= up.bytes, `wg counters on b grew by at least the iperf payload (${rxAfter - rxBefore} >= ${up.bytes})`);
  const down = await runIperf(a, b, 'fd99::2', { bytes: 1_000_000, reverse: true });
  t.ok(down.bytes >= 1_000_000, `reverse IPv6 transfer of a fixed size arrived (${down.bytes} bytes)`);

  // The roaming knob later tests rely on.
  await wgA.setPeerEndpoint(kb.publicKey, '198.51.100.2:9');
  t.equal((await wgA.peerStatus(kb.publicKey)).endpoint, '198.51.100.2:9', 'setPeerEndpoint took effect');

  await lab.destroy();
  t.notOk(Netns.exists('hx-a') || Netns.exists('hx-b'), 'no namespace left');
  t.notOk(existsSync(join(WG_SOCKET_DIR, 'hxwga.sock')) || existsSync(join(WG_SOCKET_DIR, 'hxwgb.sock')), 'no wireguard socket left');
  t.notOk(wgA.process.running || wgB.process.running, 'wireguard-go processes ended');
  const gone = await runCommand('ip', ['-n', 'hx-a', 'link'], { allowFail: true });
  t.not(gone.code, 0, 'ip cannot reach the deleted namespace');
});
