// `wgp2p join` on a plain "internet" (one bridge, no NAT): two agents in two namespaces and a real
// `wgp2p server` in a third find each other, link directly and ping over the tunnel; status,
// `wgp2p ping` and `wg show` report it. A member with the wrong secret sees nobody, forged
// announcements and hostile datagrams are refused by every agent, a member that only loses the
// server keeps its link, and a member that leaves is removed.
//
//   jn-sw: bridge jnbr ── jn-srv 198.51.100.10 (server) ── jn-a .11 (alice) ── jn-b .12 (bob) ── jn-c .13
import t from 'tap';
import { join } from 'node:path';
import { plainLan } from './lib/plain-lan.js';
import { requireRootOrSkip } from './lib/root.js';
import { waitFor } from './lib/process.js';
import { firstPing, pingCount, pingStream, startJoinAgent, startSignalServer } from './lib/join-agent.js';
import { projectRoot } from './lib/wgp2p-tunnel.js';

const NEEDS = { binaries: ['node', 'ping', 'wg', 'nft', 'ss'], tun: true, probeName: 'jn-probe' };
const SECRET = 'jn-basic-secret-0123456789abcdef';
const ROOM = 'office';

t.test('two agents on a plain network: direct link, status, ping; intruders refused', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const [srvNs, aNs, bNs, cNs] = await plainLan(t, { prefix: 'jn', labName: 'jn-basic', names: ['srv', 'a', 'b', 'c'] });
  const server = await startSignalServer(srvNs, '198.51.100.10');
  const base = { room: ROOM, server: server.url, secret: SECRET };
  const alice = await startJoinAgent(aNs, { ...base, name: 'alice', ifname: 'jna0' });
  const aliceAddress = (await alice.status()).self.address!;
  const pinging = firstPing(bNs, aliceAddress, 10_000);
  const bob = await startJoinAgent(bNs, { ...base, name: 'bob', ifname: 'jnb0' });
  const firstAnswer = await pinging;
  t.ok(firstAnswer - bob.startedAt < 5_000, `bob pings alice through the tunnel ${Math.round(firstAnswer - bob.startedAt)} ms after starting`);

  const bobAddress = (await bob.status()).self.address!;
  t.match(aliceAddress, /^10\.147\.\d+\.\d+$/, `alice has a room address (${aliceAddress})`);
  t.not(aliceAddress, bobAddress);
  t.equal(await pingCount(aNs, bobAddress, 5), 5, 'alice pings bob: 5/5');
  t.equal(await pingCount(bNs, aliceAddress, 5), 5, 'bob pings alice: 5/5');

  const sa = await alice.status();
  t.strictSame(sa.self.name, 'alice');
  const pb = sa.peers.find((p) => p.name === 'bob');
  t.ok(pb, 'alice lists bob by name');
  t.equal(pb?.address, bobAddress);
  t.equal(pb?.path, 'direct');
  t.match(pb?.endpoint, /^198\.51\.100\.12:\d+$/, `endpoint is bob's real address (${pb?.endpoint})`);
  t.type(pb?.rttMs, 'number', `rttMs ${pb?.rttMs}`);
  t.ok(pb?.lastHandshake && pb.rxBytes > 0 && pb.txBytes > 0, 'handshake and traffic counted');
  for (const key of ['name', 'publicKey', 'address']) t.ok(key in sa.self, `self.${key}`);
  const ping = await alice.cli(['ping', 'bob', '--json']);
  const pr = JSON.parse(ping.stdout) as { path: string; rttMs: number; endpoint: string };
  t.equal(pr.path, 'direct', `wgp2p ping: ${ping.stdout.trim()}`);
  t.ok(pr.rttMs >= 0 && pr.rttMs < 1000);
  const byAddress = await alice.cli(['ping', bobAddress]);
  t.match(byAddress.stdout, /pong from bob .* direct, [\d.]+ ms/, 'by address, human form');
  const unknown = await alice.cli(['ping', 'nobody'], true);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /no member "nobody"/);
  const wg = await aNs.exec('wg', ['show', 'jna0']);
  t.match(wg.stdout, /preshared key: \(hidden\)[\s\S]*latest handshake:[\s\S]*persistent keepalive: every 25 seconds/, 'wg show works, with the pair psk and keepalive');

  t.test('a wrong secret sees no members, and no member sees it', async (t) => {
    // The room id is derived from name and secret: a wrong secret is another room on the server.
    const eve = await startJoinAgent(cNs, { ...base, secret: 'not-the-secret-not-the-secret', name: 'eve', ifname: 'jnc0' });
    await eve.process.waitForOutput(/"in the room","members":0/, 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    const se = await eve.status();
    t.strictSame(se.peers, [], 'eve has no peers');
    t.notOk(se.counters.announce_rejected, 'eve was told about nobody');
    for (const a of [alice, bob]) {
      const s = await a.status();
      t.strictSame(s.peers.map((p) => p.name), [a === alice ? 'bob' : 'alice'], `${a.name} still only has its real peer`);
    }
    await eve.stop();
  });

  t.test('announcements forged through a raw WebSocket client are rejected by every agent', async (t) => {
    const before = await Promise.all([alice.status(), bob.status()]);
    const forger = await cNs.exec('node', [join(projectRoot(), 'e2e/tools/forge-announce.mjs'), server.url, ROOM, SECRET], { timeoutMs: 20_000 });
    const sent = JSON.parse(forger.stdout) as { announcements: number; messages: number };
    t.equal(sent.announcements, 4, 'the forger sent a guessed-secret join, random bytes, a replay and (with the secret) a member\'s key under its own id');
    for (const [i, a] of [alice, bob].entries()) {
      const was = before[i]!.counters;
      const s = await waitFor(async () => {
        const x = await a.status();
        return (x.counters.announce_rejected ?? 0) - (was.announce_rejected ?? 0) >= 4 && (x.counters.message_rejected ?? 0) > (was.message_rejected ?? 0) ? x : undefined;
      }, { timeoutMs: 5_000, what: `${a.name} counting the forgeries` });
      const c = s.counters;
      t.equal((c.announce_rejected ?? 0) - (was.announce_rejected ?? 0), 4, `${a.name}: 4 forged announcements rejected`);
      t.ok((c.announce_rejected_wrong_member_id ?? 0) > (was.announce_rejected_wrong_member_id ?? 0), `${a.name}: the replay was caught by its member-id binding`);
      t.ok((c.announce_rejected_bad_signature ?? 0) > (was.announce_rejected_bad_signature ?? 0), `${a.name}: the insider's claim to another key failed its signature`);
      t.equal((c.message_rejected ?? 0) - (was.message_rejected ?? 0), 1, `${a.name}: the forged punch request rejected`);
      t.strictSame(s.peers.map((p) => p.name), [a === alice ? 'bob' : 'alice'], `${a.name}: no new peer`);
    }
    t.equal(await pingCount(aNs, bobAddress, 3), 3, 'the link is unaffected');
  });

  t.test('an insider churning keys on one connection stays one member; gone when it leaves', async (t) => {
    const churner = cNs.spawn('node', [join(projectRoot(), 'e2e/tools/churn-keys.mjs'), server.url, ROOM, SECRET, '30'], { name: 'jn.churner' });
    t.teardown(() => churner.kill());
    await churner.waitForOutput(/\{"announced":30\}/, 20_000);
    for (const a of [alice, bob]) {
      const real = a === alice ? 'bob' : 'alice';
      const s = await waitFor(async () => {
        const x = await a.status();
        return x.peers.some((p) => p.name === 'mallory') ? x : undefined;
      }, { timeoutMs: 5_000, what: `${a.name} seeing mallory` });
      t.strictSame(s.peers.map((p) => p.name).sort(), [real, 'mallory'], `${a.name}: 30 keys from one connection are one member`);
      const wg = (await a.ns.exec('wg', ['show', a.ifname, 'peers'])).stdout.trim().split('\n').sort();
      t.strictSame(wg, s.peers.map((p) => p.publicKey).sort(), `${a.name}: and the same two WireGuard peers`);
    }
    await churner.kill();
    for (const a of [alice, bob]) {
      await waitFor(async () => !(await a.status()).peers.some((p) => p.name === 'mallory'), { timeoutMs: 5_000, what: `${a.name} dropping mallory` });
      t.equal((await a.ns.exec('wg', ['show', a.ifname, 'peers'])).stdout.trim().split('\n').length, 1, `${a.name}: mallory's peer is gone with its connection`);
    }
    t.equal(await pingCount(aNs, bobAddress, 3), 3, 'the link is unaffected');
  });

  t.test('hostile datagrams at the agent\'s port are dropped; the agent carries on', async (t) => {
    const port = (await bob.status()).self.listenPort;
    const tool = join(projectRoot(), 'e2e/tools/udp-send.mjs');
    await cNs.exec('node', [tool, '198.51.100.12', String(port), 'random', '2000'], { timeoutMs: 20_000 });
    const discoJunk = ['d15c0d02' + '00'.repeat(46), 'd15c0d02' + 'ff'.repeat(57), '000100002112a442' + '00'.repeat(12)].join('\n');
    await cNs.exec('node', [tool, '198.51.100.12', String(port), 'hex'], { input: discoJunk, timeoutMs: 10_000 });
    t.ok(bob.process.running, 'bob is still running');
    const s = await bob.status();
    t.ok((s.counters.rx_malformed ?? 0) > 0, `junk counted by the engine (rx_malformed ${s.counters.rx_malformed})`);
    t.ok((s.counters.disco_unknown_pair ?? 0) >= 1, 'disco-shaped junk counted');
    t.equal(await pingCount(aNs, bobAddress, 3), 3, 'the link is unaffected');
  });

  t.test('a member that only loses the server keeps its link; it rejoins when it can', async (t) => {
    // Bob cannot reach the server any more, and the server drops his connection (member-left).
    await bNs.exec('nft', ['-f', '-'], { input: 'table ip jnblock {\n chain out {\n type filter hook output priority 0;\n tcp dport 8080 drop\n }\n}\n' });
    await srvNs.exec('ss', ['-K', '-t', 'dst', '198.51.100.12']);
    await alice.process.waitForOutput(/member lost the signal server; keeping its link/, 10_000);
    const s = await pingStream(aNs, bobAddress, 8);
    t.ok(s.received >= s.sent - 1 && s.longestGapMs < 1_000, `alice still pings bob: ${s.received}/${s.sent}`);
    t.strictSame((await alice.status()).peers.map((p) => `${p.name} ${p.path}`), ['bob direct'], 'alice keeps bob');
    await bNs.exec('nft', ['delete', 'table', 'ip', 'jnblock']);
    await waitFor(async () => (await bob.status()).counters.signal_connects >= 2, { timeoutMs: 20_000, what: 'bob reconnecting' });
    t.pass('bob is back on the server');
  });

  t.test('a member that leaves is removed at once', async (t) => {
    const left = Date.now();
    await bob.stop();
    await waitFor(async () => (await alice.status()).peers.length === 0, { timeoutMs: 5_000, what: 'alice dropping bob' });
    t.pass(`bob is gone from alice's peers ${Date.now() - left} ms after he stopped`);
    await alice.process.waitForOutput(/"member removed".*"reason":"said goodbye"/, 1_000);
    const wg = await aNs.exec('wg', ['show', 'jna0', 'peers']);
    t.equal(wg.stdout.trim(), '', 'and from the WireGuard device');
  });
});
