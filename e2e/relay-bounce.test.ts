// Issue 5 on the NAT lab: pairs that cannot punch (symmetric × symmetric, cgnat × cgnat,
// symmetric × port-restricted) meet through a bounce peer on a public host. Both agents' status
// must say `relay` through the bounce, pings and a 20 MB checksummed TCP transfer must cross it,
// and a capture at the bounce must show nothing but relay headers around WireGuard messages.
import t from 'tap';
import { NatLab, type Site } from './lib/nat-lab.js';
import { requireRootOrSkip } from './lib/root.js';
import { pingCount, startJoinAgent, startSignalServer, type JoinAgent, type JoinPeerStatus } from './lib/join-agent.js';
import { waitFor } from './lib/process.js';
import { tcpTransfer } from './lib/tcp-transfer.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping'], tun: true, probeName: 'rb-probe' };
const SECRET = 'rb-relay-secret-0123456789abcdef';
const MB = 1024 * 1024;

async function peerStatus(a: JoinAgent, name: string): Promise<JoinPeerStatus | undefined> {
  return (await a.status()).peers.find((p) => p.name === name);
}

/** Waits until both agents see each other on a relayed path through `relay`. */
async function waitRelayed(a: JoinAgent, b: JoinAgent, relay: string, timeoutMs: number): Promise<[JoinPeerStatus, JoinPeerStatus]> {
  let last: [JoinPeerStatus | undefined, JoinPeerStatus | undefined] = [undefined, undefined];
  try {
    await waitFor(
      async () => {
        last = [await peerStatus(a, b.name), await peerStatus(b, a.name)];
        return last.every((s) => s?.path === 'relay' && s.relay === relay && s.lastHandshake !== undefined);
      },
      { timeoutMs, intervalMs: 200, what: `relayed path through ${relay}` },
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(last)}`);
  }
  return last as [JoinPeerStatus, JoinPeerStatus];
}

t.setTimeout(400_000);

t.test('pairs that cannot punch meet through a bounce peer', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await NatLab.create(t, { prefix: 'rb' });
  const srv = await lab.publicHost('srv', '203.0.113.10');
  const server = await startSignalServer(srv, '203.0.113.10');
  const bounceHost = await lab.publicHost('bnc', '203.0.113.20');
  const sites: Record<string, Site> = {
    sy1: await lab.site('sy1', 'symmetric'),
    sy2: await lab.site('sy2', 'symmetric'),
    cg1: await lab.site('cg1', 'cgnat'),
    cg2: await lab.site('cg2', 'cgnat'),
    pr: await lab.site('pr', 'port-restricted'),
  };
  const pairs: [string, string][] = [
    ['sy1', 'sy2'],
    ['cg1', 'cg2'],
    ['sy1', 'pr'],
  ];
  for (const [i, [x, y]] of pairs.entries()) {
    await t.test(`${sites[x]!.kind} × ${sites[y]!.kind}`, async (t) => {
      const room = `relay-${i}`;
      const base = { room, server: server.url, secret: SECRET };
      const bounce = await startJoinAgent(bounceHost, { ...base, name: `bounce${i}`, ifname: `rb${i}z`, args: ['--bounce'] });
      t.teardown(() => bounce.stop());
      const a = await startJoinAgent(sites[x]!.hosts[0]!, { ...base, name: `${x}-a`, ifname: `rb${i}a` });
      t.teardown(() => a.stop());
      const b = await startJoinAgent(sites[y]!.hosts[0]!, { ...base, name: `${y}-b`, ifname: `rb${i}b` });
      t.teardown(() => b.stop());
      const [sa, sb] = await waitRelayed(a, b, `bounce${i}`, 15_000);
      t.pass(`relayed both ways through the bounce (${sa.endpoint} / ${sb.endpoint})`);
      const addrA = (await a.status()).self.address!;
      const addrB = (await b.status()).self.address!;
      t.equal(await pingCount(a.ns, addrB, 5), 5, 'a pings b through the relay');
      t.equal(await pingCount(b.ns, addrA, 5), 5, 'b pings a through the relay');
      const r = await tcpTransfer(a.ns, b.ns, addrB, { bytes: 20 * MB, timeoutMs: 90_000 });
      t.equal(r.receivedBytes, 20 * MB, '20 MB arrived');
      t.equal(r.receivedSha256, r.sentSha256, 'checksums match');
      t.comment(`20 MB through the bounce in ${r.seconds.toFixed(2)} s (${((20 * 8) / r.seconds).toFixed(0)} Mbit/s)`);
      const ping = await a.cli(['ping', `${y}-b`, '--json']);
      const answer = JSON.parse(ping.stdout) as { path: string; relay: string; rttMs: number };
      t.equal(answer.path, 'relay', 'wgp2p ping says relay');
      t.equal(answer.relay, `bounce${i}`, 'and through which bounce');
      const counters = (await bounce.status()).counters;
      t.ok((counters.bounce_relayed_packets ?? 0) > 10_000, `the bounce relayed ${counters.bounce_relayed_packets} packets`);
    });
  }
});
