// Membership control end to end: alice makes a room with admins (wgp2p room init) and joins it
// with nothing but her state directory; bob and carol join with one-use invites; dave's second use
// of bob's invite and an expired invite are refused with a clear line. alice removes carol: within
// 5 s neither alice nor bob lists her and pings to her fail; carol, still holding the room secret
// and her old membership, cannot come back; bob (no admin) cannot remove anyone.
//
//   jm-sw: bridge jmbr ── jm-srv 198.51.100.10 (server) ── jm-a .11 (alice, admin) ── jm-b .12 (bob) ── jm-c .13 (carol) ── jm-d .14 (dave)
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, addAddress, addBridge, vethPair, type Netns } from './lib/netns.js';
import { requireRootOrSkip } from './lib/root.js';
import { waitFor } from './lib/process.js';
import { pingCount, startJoinAgent, startSignalServer, type JoinAgent } from './lib/join-agent.js';
import { cliPath } from './lib/wgp2p-tunnel.js';

const NEEDS = { binaries: ['node', 'ping'], tun: true, probeName: 'jm-probe' };
const ROOM = 'office';
/** The bound: every other member drops a removed one within this. */
const REMOVAL_BOUND_MS = 5_000;

async function host(lab: Lab, sw: Netns, name: string, ip: string): Promise<Netns> {
  const ns = await lab.netns(`jm-${name}`);
  await vethPair(ns, 'eth0', sw, `jm-p-${name}`);
  await sw.ip(['link', 'set', `jm-p-${name}`, 'master', 'jmbr']);
  await addAddress(ns, 'eth0', `${ip}/24`);
  return ns;
}

const wgp2p = (ns: Netns, args: string[]) => ns.exec('node', [cliPath(), ...args], { allowFail: true, timeoutMs: 20_000 });
const lists = async (a: JoinAgent, name: string) => (await a.status()).peers.some((p) => p.name === name);

t.test('invites, a removal, and no way back', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await Lab.create(t, { name: 'jm-members' });
  const sw = await lab.netns('jm-sw');
  await addBridge(sw, 'jmbr');
  const [srvNs, aNs, bNs, cNs, dNs] = await Promise.all([
    host(lab, sw, 'srv', '198.51.100.10'),
    host(lab, sw, 'a', '198.51.100.11'),
    host(lab, sw, 'b', '198.51.100.12'),
    host(lab, sw, 'c', '198.51.100.13'),
    host(lab, sw, 'd', '198.51.100.14'),
  ]);
  const dirs = await Promise.all(['a', 'b', 'c', 'd'].map((n) => mkdtemp(join(tmpdir(), `wgp2p-e2e-jm-${n}-`))));
  t.teardown(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const [aDir, bDir, cDir, dDir] = dirs as [string, string, string, string];
  const server = await startSignalServer(srvNs, '198.51.100.10');

  const init = await wgp2p(aNs, ['room', 'init', '--room', ROOM, '--server', server.url, '--state-dir', aDir, '--name', 'alice']);
  t.equal(init.code, 0, `room init: ${init.stderr.trim()}`);
  const invite = async (...args: string[]) => {
    const r = await wgp2p(aNs, ['invite', '--room', ROOM, '--state-dir', aDir, ...args]);
    t.equal(r.code, 0, `invite ${args.join(' ')}`);
    return r.stdout.trim();
  };
  const [forBob, forCarol, expired] = (await Promise.all([invite('--uses', '1'), invite('--uses', '1', '--name', 'carol'), invite('--expires', '1s')])) as [string, string, string];
  t.match(forBob, /^wgp2p-invite:\S+$/, 'an invite is one line');

  // The joiners wait for alice's agent to admit them, whichever starts first.
  const [alice, bob, firstCarol] = await Promise.all([
    startJoinAgent(aNs, { name: 'alice', room: ROOM, ifname: 'jma0', stateDir: aDir }),
    startJoinAgent(bNs, { name: 'bob', ifname: 'jmb0', stateDir: bDir, args: ['--invite', forBob] }),
    startJoinAgent(cNs, { name: 'carol', ifname: 'jmc0', stateDir: cDir, args: ['--invite', forCarol] }),
  ]);
  let carol = firstCarol;
  await waitFor(async () => (await alice.status()).peers.filter((p) => p.path === 'direct').length === 2 && (await bob.status()).peers.some((p) => p.name === 'carol' && p.path === 'direct'), { timeoutMs: 20_000 });
  const cAddr = (await carol.status()).self.address!;
  const bAddr = (await bob.status()).self.address!;
  t.equal(await pingCount(bNs, cAddr, 2), 2, 'bob pings carol through the tunnel');

  // dave takes bob's invite again: alice's agent refuses it, dave's join says why and ends. The
  // expired invite and bob's attempt to remove carol are refused meanwhile.
  const [dave, late, bobRemoves] = await Promise.all([
    startJoinAgent(dNs, { name: 'dave', ifname: 'jmd0', stateDir: dDir, args: ['--invite', forBob] }),
    wgp2p(dNs, ['join', '--invite', expired, '--state-dir', dDir, '--interface', 'jmd1']),
    wgp2p(bNs, ['remove', 'carol', '--interface', 'jmb0']),
  ]);
  const daveExit = await dave.process.waitForExit(15_000);
  t.equal(daveExit.code, 1, 'dave\'s join ends');
  t.match(dave.process.tail(40), /cannot join room office: the invite is used up/, 'with a clear line');
  t.equal((await alice.status()).counters.invites_refused_used_up, 1, 'alice counted the refusal');
  t.notOk(await lists(bob, 'dave'), 'bob never added dave');
  t.equal(late.code, 2);
  t.match(late.stderr, /the invite has expired/, 'an expired invite is refused before anything starts');
  t.equal(bobRemoves.code, 1);
  t.match(bobRemoves.stderr, /only an admin can remove/, 'bob is no admin');
  t.equal((await bob.status()).counters.remove_refused_not_admin, 1);

  const removed = await wgp2p(aNs, ['remove', 'carol', '--interface', 'jma0']);
  t.equal(removed.code, 0, `remove: ${removed.stdout.trim()}${removed.stderr.trim()}`);
  // When each agent acted, from its own log (spawning `wgp2p status` costs more than the removal).
  const at = async (a: JoinAgent, re: RegExp) => Date.parse(/"time":"([^"]+)"/.exec((await a.process.waitForOutput(re, REMOVAL_BOUND_MS))[0])![1]!);
  const issued = await at(alice, /\{"time":"[^"]+"[^\n]*"msg":"revocation list applied"/);
  const dropped = await at(bob, /\{"time":"[^"]+"[^\n]*"msg":"member removed","name":"carol"/);
  t.ok(dropped - issued < REMOVAL_BOUND_MS, `bob dropped carol ${dropped - issued} ms after alice issued the revocation`);
  await waitFor(async () => !(await lists(alice, 'carol')) && !(await lists(bob, 'carol')), { timeoutMs: REMOVAL_BOUND_MS, intervalMs: 50 });
  t.pass('neither alice\'s nor bob\'s status lists carol');
  const [bToC, cToB] = await Promise.all([pingCount(bNs, cAddr, 3), pingCount(cNs, bAddr, 3)]);
  t.equal(bToC, 0, 'bob\'s pings to carol fail');
  t.equal(cToB, 0, 'and carol\'s to bob');
  const members = await wgp2p(aNs, ['members', '--interface', 'jma0', '--json']);
  const list = JSON.parse(members.stdout) as { members: { name: string }[]; revocations: { version: number; keys: { name?: string }[] } };
  t.same(list.members.map((m) => m.name), ['bob'], 'wgp2p members: bob only');
  t.same(list.revocations.keys.map((k) => k.name), ['carol'], 'carol is revoked (version 1)');

  // carol restarts with her state directory (secret and old membership): nobody takes her back.
  await carol.stop();
  carol = await startJoinAgent(cNs, { name: 'carol', room: ROOM, ifname: 'jmc0', stateDir: cDir });
  await waitFor(async () => ((await bob.status()).counters.announce_refused_revoked ?? 0) >= 1, { timeoutMs: 10_000 });
  t.notOk(await lists(alice, 'carol'), 'alice refuses carol');
  t.notOk(await lists(bob, 'carol'), 'bob refuses carol');
  t.equal(await pingCount(cNs, bAddr, 2), 0, 'carol reaches nobody');
});
