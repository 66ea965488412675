// Membership control end to end, on the NAT lab: alice makes a room with admins (wgp2p room init)
// and joins it with nothing but her state directory; bob (a bounce, behind a full-cone NAT), carol
// and dave join with one-use invites. A third use of bob's invite and an expired invite are
// refused with a clear line; bob (no admin) cannot remove anyone. dave stops; alice removes carol:
// within 5 s neither alice nor bob lists her, pings to her fail, and carol's handshakes are refused.
// With alice (the only admin) offline, dave comes back and learns the removal from bob; carol,
// restarted with her secret and old membership, is refused by bob and dave, completes no
// WireGuard handshake, and her binds at bob's bounce are refused.
//
//   mb-net (internet): mb-srv 203.0.113.10 (server)
//     mb-a (port-restricted) alice   mb-b (full-cone) bob --bounce
//     mb-c (port-restricted) carol   mb-d (restricted-cone) dave, and mallory (bob's invite again)
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatLab } from './lib/nat-lab.js';
import type { Netns } from './lib/netns.js';
import { requireRootOrSkip } from './lib/root.js';
import { waitFor } from './lib/process.js';
import { pingCount, startJoinAgent, startSignalServer, type JoinAgent } from './lib/join-agent.js';
import { cliPath } from './lib/wgp2p-tunnel.js';
import { inviteId } from '../agent/join/membership/invite.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping', 'wg'], tun: true, probeName: 'mb-probe' };
const ROOM = 'office';
/** The bound: every other member drops a removed one within this. */
const REMOVAL_BOUND_MS = 5_000;
/** Time to mesh four members through NATs, or for a restarted member to be seen. */
const MESH_MS = 20_000;

t.setTimeout(180_000);

const wgp2p = (ns: Netns, args: string[]) => ns.exec('node', [cliPath(), ...args], { allowFail: true, timeoutMs: 20_000 });
const lists = async (a: JoinAgent, name: string) => (await a.status()).peers.some((p) => p.name === name);
const counter = async (a: JoinAgent, name: string) => (await a.status()).counters[name] ?? 0;
/** The newest WireGuard handshake of an agent's device, in unix seconds (0: none ever). */
const newestHandshake = async (a: JoinAgent) =>
  Math.max(0, ...(await a.ns.exec('wg', ['show', a.ifname, 'latest-handshakes'])).stdout.trim().split('\n').filter(Boolean).map((l) => Number(l.split('\t')[1])));

t.test('invites, a removal, and no way back, through NATs', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await NatLab.create(t, { prefix: 'mb' });
  const srv = await lab.publicHost('srv', '203.0.113.10');
  const [aNs, bNs, cNs, dNs] = [
    (await lab.site('a', 'port-restricted')).hosts[0]!,
    (await lab.site('b', 'full-cone')).hosts[0]!,
    (await lab.site('c', 'port-restricted')).hosts[0]!,
    (await lab.site('d', 'restricted-cone')).hosts[0]!,
  ];
  const dirs = await Promise.all(['a', 'b', 'c', 'd', 'm', 'o'].map((n) => mkdtemp(join(tmpdir(), `wgp2p-e2e-mb-${n}-`))));
  t.teardown(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const [aDir, bDir, cDir, dDir, mDir, oDir] = dirs as [string, string, string, string, string, string];
  const server = await startSignalServer(srv, '203.0.113.10');

  const init = await wgp2p(aNs, ['room', 'init', '--room', ROOM, '--server', server.url, '--state-dir', aDir, '--name', 'alice']);
  t.equal(init.code, 0, `room init: ${init.stderr.trim()}`);
  const invite = async (...args: string[]) => {
    const r = await wgp2p(aNs, ['invite', '--room', ROOM, '--state-dir', aDir, ...args]);
    t.equal(r.code, 0, `invite ${args.join(' ')}`);
    return r.stdout.trim();
  };
  const [forBob, forCarol, forDave, expired, spare] = (await Promise.all([invite('--uses', '1'), invite('--uses', '1', '--name', 'carol'), invite('--uses', '1'), invite('--expires', '1s'), invite('--uses', '1')])) as string[] as [string, string, string, string, string];
  t.match(forBob, /^wgp2p-invite:\S+$/, 'an invite is one line');

  // The joiners wait for alice's agent to admit them, whichever starts first.
  const [alice, bob, firstCarol, firstDave] = await Promise.all([
    startJoinAgent(aNs, { name: 'alice', room: ROOM, ifname: 'mba0', stateDir: aDir }),
    startJoinAgent(bNs, { name: 'bob', ifname: 'mbb0', stateDir: bDir, args: ['--invite', forBob, '--bounce'] }),
    startJoinAgent(cNs, { name: 'carol', ifname: 'mbc0', stateDir: cDir, args: ['--invite', forCarol] }),
    startJoinAgent(dNs, { name: 'dave', ifname: 'mbd0', stateDir: dDir, args: ['--invite', forDave] }),
  ]);
  let [carol, dave] = [firstCarol, firstDave];
  const everyone = [alice, bob, carol, dave];
  await waitFor(async () => (await Promise.all(everyone.map(async (a) => (await a.status()).peers.filter((p) => p.path === 'direct').length))).every((n) => n === 3), {
    timeoutMs: MESH_MS,
    what: 'four members meshed directly through their NATs',
  });
  t.pass('alice, bob, carol and dave are meshed, direct through their NATs');
  const { address: cAddr, publicKey: cKey } = (await carol.status()).self as { address: string; publicKey: string };
  const [aAddr, bAddr] = [(await alice.status()).self.address!, (await bob.status()).self.address!];
  t.equal(await pingCount(bNs, cAddr, 2), 2, 'bob pings carol through the tunnel');
  await waitFor(async () => (await counter(bob, 'bounce_binds')) >= 3, { timeoutMs: MESH_MS, what: 'the members binding at bob\'s bounce' });
  t.pass('alice, carol and dave are bound at bob\'s bounce (it serves members)');

  // alice revokes the spare invite (revocation list version 1).
  const revoke = await wgp2p(aNs, ['invite', '--revoke', spare, '--interface', 'mba0']);
  t.match(revoke.stdout, /^revoked invite \S+ \(revocation list version 1,/, `wgp2p invite --revoke: ${revoke.stderr.trim()}`);
  // mallory takes bob's one-use invite again and oscar the revoked one: alice's agent refuses
  // them, their joins say why and end. The expired invite and bob's attempt to remove carol are
  // refused meanwhile.
  const [mallory, oscar, late, bobRemoves] = await Promise.all([
    startJoinAgent(dNs, { name: 'mallory', ifname: 'mbm0', stateDir: mDir, args: ['--invite', forBob] }),
    startJoinAgent(dNs, { name: 'oscar', ifname: 'mbo0', stateDir: oDir, args: ['--invite', spare] }),
    wgp2p(dNs, ['join', '--invite', expired, '--state-dir', mDir, '--interface', 'mbm1']),
    wgp2p(bNs, ['remove', 'carol', '--interface', 'mbb0']),
  ]);
  const malloryExit = await mallory.process.waitForExit(15_000);
  t.equal(malloryExit.code, 1, 'mallory\'s join ends');
  t.match(mallory.process.tail(40), /cannot join room office: the invite is used up/, 'with a clear line');
  t.ok((await counter(alice, 'invites_refused_used_up')) >= 1, 'alice counted the refusal (once per announcement mallory sent)');
  t.equal((await oscar.process.waitForExit(15_000)).code, 1, 'oscar\'s join ends');
  t.match(oscar.process.tail(40), /cannot join room office: the invite was revoked/, 'with a clear line');
  t.ok((await counter(alice, 'invites_refused_revoked')) >= 1, 'alice counted the refusal');
  t.notOk((await lists(bob, 'mallory')) || (await lists(bob, 'oscar')), 'bob never added mallory or oscar');
  t.equal(late.code, 2);
  t.match(late.stderr, /the invite has expired/, 'an expired invite is refused before anything starts');
  t.equal(bobRemoves.code, 1);
  t.match(bobRemoves.stderr, /only an admin can remove/, 'bob is no admin');
  t.equal(await counter(bob, 'remove_refused_not_admin'), 1, 'bob counted it');
  t.equal((await bob.status()).peers.length, 3, 'and carol is still bob\'s peer');

  // dave is away while carol is removed.
  await dave.stop();
  await waitFor(async () => !(await lists(alice, 'dave')) && !(await lists(bob, 'dave')), { timeoutMs: REMOVAL_BOUND_MS, what: 'dave gone' });
  const refusedBefore = { alice: (await alice.status()).counters, bob: (await bob.status()).counters };
  const removed = await wgp2p(aNs, ['remove', 'carol', '--interface', 'mba0']);
  t.equal(removed.code, 0, `remove: ${removed.stdout.trim()}${removed.stderr.trim()}`);
  const removedAt = Math.floor(Date.now() / 1000);
  // When each agent acted, from its own log (spawning `wgp2p status` costs more than the removal).
  const at = async (a: JoinAgent, re: RegExp) => Date.parse(/"time":"([^"]+)"/.exec((await a.process.waitForOutput(re, REMOVAL_BOUND_MS))[0])![1]!);
  const issued = await at(alice, /\{"time":"[^"]+"[^\n]*"msg":"revocation list applied","version":2/);
  const dropped = await at(bob, /\{"time":"[^"]+"[^\n]*"msg":"member removed","name":"carol"/);
  t.ok(dropped - issued < REMOVAL_BOUND_MS, `bob dropped carol ${dropped - issued} ms after alice issued the revocation`);
  await waitFor(async () => !(await lists(alice, 'carol')) && !(await lists(bob, 'carol')), { timeoutMs: REMOVAL_BOUND_MS, intervalMs: 50, what: 'carol gone from alice and bob' });
  t.pass('neither alice\'s nor bob\'s status lists carol');
  for (const a of [alice, bob]) {
    const peers = (await a.ns.exec('wg', ['show', a.ifname, 'peers'])).stdout.trim().split('\n');
    t.strictSame(peers, [(await (a === alice ? bob : alice).status()).self.publicKey], `${a.name}'s WireGuard device holds only its one remaining peer`);
  }
  const [bToC, aToC, cToB, cToA] = await Promise.all([pingCount(bNs, cAddr, 3), pingCount(aNs, cAddr, 3), pingCount(cNs, bAddr, 3), pingCount(cNs, aAddr, 3)]);
  t.strictSame([bToC, aToC, cToB, cToA], [0, 0, 0, 0], 'pings between carol and alice or bob all fail, both ways');
  t.ok(carol.process.running, 'carol\'s agent still runs');
  const oldSession = (c: Record<string, number>) => (c.rx_unknown_index ?? 0) + (c.relay_unknown_source ?? 0) + (c.handshake_refused_not_member ?? 0) + (c.rx_bad_initiation ?? 0);
  t.ok(oldSession((await bob.status()).counters) > oldSession(refusedBefore.bob), 'bob dropped what carol sent him under her old session (counted)');
  t.ok((await newestHandshake(carol)) <= removedAt, 'carol\'s device has no handshake since her removal');
  const members = await wgp2p(aNs, ['members', '--interface', 'mba0', '--json']);
  const list = JSON.parse(members.stdout) as { members: { name: string }[]; revocations: { version: number; keys: { name?: string; publicKey: string }[] } };
  t.same(list.members.map((m) => m.name), ['bob'], 'wgp2p members: bob only (dave is away)');
  t.equal(list.revocations.version, 2, 'revocation list version 2');
  t.same(list.revocations.keys.map((k) => k.publicKey).sort(), [inviteId(spare), cKey].sort(), 'holds the spare invite and carol\'s key');
  t.ok(list.revocations.keys.some((k) => k.name === 'carol'), 'carol is named');
  t.comment(`alice after removal: ${JSON.stringify(diff(refusedBefore.alice, (await alice.status()).counters))}`);
  t.comment(`bob after removal: ${JSON.stringify(diff(refusedBefore.bob, (await bob.status()).counters))}`);

  // The admin goes offline, carol stops; dave comes back and learns the removal from bob.
  await Promise.all([alice.stop(), carol.stop()]);
  dave = await startJoinAgent(dNs, { name: 'dave', room: ROOM, ifname: 'mbd0', stateDir: dDir });
  const learned = await dave.process.waitForOutput(/"msg":"revocation list applied","version":2,"from":"(\w+)"/, MESH_MS);
  t.equal(learned[1], 'bob', 'dave learned the removal from bob, with alice offline');
  const daveMembers = JSON.parse((await dave.cli(['members', '--json'])).stdout) as typeof list;
  t.equal(daveMembers.revocations.version, 2, 'dave holds revocation list version 2');
  t.ok(daveMembers.revocations.keys.some((k) => k.publicKey === cKey), 'with carol\'s key');
  t.equal((await dave.status()).counters.revocations_applied, 1);

  // carol, restarted with her state directory (secret and old membership), cannot come back.
  const bobBefore = (await bob.status()).counters;
  carol = await startJoinAgent(cNs, { name: 'carol', room: ROOM, ifname: 'mbc0', stateDir: cDir });
  const carolStarted = Math.floor(Date.now() / 1000);
  await waitFor(async () => (await counter(dave, 'announce_refused_revoked')) >= 1 && (await counter(bob, 'announce_refused_revoked')) > (bobBefore.announce_refused_revoked ?? 0), {
    timeoutMs: MESH_MS,
    what: 'bob and dave refusing carol\'s announcement',
  });
  t.pass('bob and dave refuse carol\'s announcement (revoked)');
  const bounceRefusals = await waitFor(async () => {
    const n = (await counter(bob, 'bounce_dropped_bad_auth')) - (bobBefore.bounce_dropped_bad_auth ?? 0);
    return n >= 2 ? n : undefined;
  }, { timeoutMs: MESH_MS, what: 'bob\'s bounce refusing carol\'s binds' });
  t.pass(`bob's bounce refused ${bounceRefusals} binds from carol`);
  const daveBefore = (await dave.status()).counters;
  const [cToB2, cToD] = await Promise.all([pingCount(cNs, bAddr, 3), pingCount(cNs, (await dave.status()).self.address!, 3)]);
  t.strictSame([cToB2, cToD], [0, 0], 'carol reaches neither bob nor dave');
  // A restarted carol holds no session: whatever WireGuard she sends a member is a handshake
  // initiation, refused as a non-member's (relayed: by the agent; direct: by the engine).
  for (const [a, was] of [[bob, bobBefore], [dave, daveBefore]] as const) {
    const refused = await waitFor(async () => {
      const c = (await a.status()).counters;
      const n = (c.handshake_refused_not_member ?? 0) + (c.rx_bad_initiation ?? 0) - (was.handshake_refused_not_member ?? 0) - (was.rx_bad_initiation ?? 0);
      return n > 0 ? n : undefined;
    }, { timeoutMs: MESH_MS, what: `${a.name} refusing carol's handshakes` });
    t.pass(`${a.name} refused ${refused} handshake initiations from carol`);
  }
  t.notOk(await lists(bob, 'carol'), 'bob does not list carol');
  t.notOk(await lists(dave, 'carol'), 'dave does not list carol');
  t.ok((await newestHandshake(carol)) < carolStarted, 'carol\'s device completed no handshake since she restarted');
  t.comment(`bob after carol's restart: ${JSON.stringify(diff(bobBefore, (await bob.status()).counters))}`);
  t.equal(await pingCount(dNs, bAddr, 2), 2, 'bob and dave still reach each other');
});

function diff(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).filter(([k, v]) => v !== (before[k] ?? 0) && /refus|reject|bad|unknown|bounce_dropped|invalid/.test(k)).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}
