// Issue 4: flushing a NAT router's conntrack table (and the cone kinds' learned mappings) in the
// middle of a ping must not break the link for more than 30 s. Both NATs of a pair filter by
// address and port, the hardest case a direct path survives: the flushed side must open its
// mapping again from the inside (disco heartbeats do within a couple of seconds), and the agents
// re-discover and re-punch when a path does die. Last, a NAT rebinding: right after a flush,
// another host behind alice's NAT takes alice's public port toward bob, so alice's traffic leaves
// through a new port the agents have to find.
import t from 'tap';
import { join } from 'node:path';
import { projectRoot } from './lib/wgp2p-tunnel.js';
import { requireRootOrSkip } from './lib/root.js';
import { pingCount, pingStream } from './lib/join-agent.js';
import { waitFor } from './lib/process.js';
import { aliceAndBob, createRoomLab } from './lib/room-lab.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping'], tun: true, probeName: 'jc-probe' };
const SECRET = 'jc-conntrack-secret-0123456789abcdef';
const RECOVERY_MS = 30_000;

t.test('conntrack flushed mid-ping: the link recovers', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const room = await createRoomLab(t, { prefix: 'jc', room: 'flush', secret: SECRET });
  const { lab } = room;
  // Alice's site has a second host: the squatter of the rebinding scenario.
  const [sa, sb] = [await lab.site('a', 'port-restricted', { hosts: 2 }), await lab.site('b', 'restricted-cone')];
  const { alice, aliceAddress, bob, bobAddress } = await aliceAndBob(room, sa.hosts[0]!, sb.hosts[0]!, 'jc');
  t.equal(await pingCount(sa.hosts[0]!, bobAddress, 3), 3, 'linked');

  for (const [label, site, pinger, target] of [
    ['alice\'s router (port-restricted), while bob pings alice', sa, sb.hosts[0]!, aliceAddress],
    ['bob\'s router (restricted-cone, learned maps too), while alice pings bob', sb, sa.hosts[0]!, bobAddress],
    ['both routers at once, while bob pings alice', undefined, sb.hosts[0]!, aliceAddress],
  ] as const) {
    await t.test(label, async (t) => {
      const stream = pingStream(pinger, target, 14);
      await new Promise((r) => setTimeout(r, 3000));
      if (site) await lab.flushConntrack(site);
      else await Promise.all([lab.flushConntrack(sa), lab.flushConntrack(sb)]);
      const s = await stream;
      t.comment(`${s.received}/${s.sent} answered, longest silence ${s.longestGapMs} ms`);
      t.ok(s.longestGapMs < RECOVERY_MS, `recovered: longest silence ${s.longestGapMs} ms`);
      const last = s.answers.at(-1) ?? 0;
      t.ok(Date.now() - last < 3_000, 'and still answering at the end');
      const [pa, pb] = [(await alice.status()).peers[0], (await bob.status()).peers[0]];
      t.equal(pa?.path, 'direct', `alice: direct via ${pa?.endpoint}`);
      t.equal(pb?.path, 'direct', `bob: direct via ${pb?.endpoint}`);
    });
  }
  await t.test('NAT rebinding: another host takes alice\'s public port toward bob', async (t) => {
    const aliceStatus = await alice.status();
    const bobEndpoint = aliceStatus.peers[0]!.endpoint!;
    const [host, port] = [bobEndpoint.slice(0, bobEndpoint.lastIndexOf(':')), bobEndpoint.slice(bobEndpoint.lastIndexOf(':') + 1)];
    const squatter = sa.hosts[1]!.spawn('node', [join(projectRoot(), 'e2e/tools/udp-squat.mjs'), String(aliceStatus.self.listenPort), host, port], { name: 'jc-squatter' });
    await squatter.waitForOutput(/ready/, 10_000);
    const stream = pingStream(sb.hosts[0]!, aliceAddress, 20);
    await new Promise((r) => setTimeout(r, 3000));
    // Alice stays silent until the squatter holds her old port: a heartbeat of hers in the moment
    // after the flush would otherwise take it back first, and there would be nothing to test.
    const squatterFlow = async () => (await sa.router!.exec('conntrack', ['-L', '-p', 'udp', '--orig-src', sa.hostAddresses[1]!], { allowFail: true })).stdout;
    const quiet = `table ip jcquiet {\n chain out {\n type filter hook output priority 0;\n udp sport ${aliceStatus.self.listenPort} drop\n }\n}\n`;
    await sa.hosts[0]!.exec('nft', ['-f', '-'], { input: quiet });
    await lab.flushConntrack(sa);
    process.kill(squatter.pid!, 'SIGUSR1');
    await waitFor(async () => new RegExp(`dport=${aliceStatus.self.listenPort} `).test(await squatterFlow()), { timeoutMs: 5_000, intervalMs: 50, what: 'the squatter taking the port' });
    await sa.hosts[0]!.exec('nft', ['delete', 'table', 'ip', 'jcquiet']);
    const s = await stream;
    t.match(await squatterFlow(), new RegExp(`dport=${aliceStatus.self.listenPort} `), 'the squatter holds alice\'s old external port toward bob');
    t.comment(`${s.received}/${s.sent} answered, longest silence ${s.longestGapMs} ms`);
    t.ok(s.longestGapMs < RECOVERY_MS, `recovered: longest silence ${s.longestGapMs} ms`);
    t.ok(Date.now() - (s.answers.at(-1) ?? 0) < 3_000, 'and still answering at the end');
    const pb = (await bob.status()).peers[0];
    t.equal(pb?.path, 'direct');
    t.not(pb?.endpoint, `${sa.wanAddress}:${aliceStatus.self.listenPort}`, `bob now reaches alice at her new mapping ${pb?.endpoint}`);
    await squatter.kill();
  });
  t.equal(await pingCount(sa.hosts[0]!, bobAddress, 5), 5, 'alice pings bob 5/5 after all that');
  t.equal(await pingCount(sb.hosts[0]!, aliceAddress, 5), 5, 'bob pings alice 5/5');
});
