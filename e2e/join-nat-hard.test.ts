// The hard NATs of issue 4: symmetric (a new public port per destination) and carrier-grade NAT
// (a port-restricted home router behind the lab's symmetric carrier), paired with every kind.
// Hole punching cannot work where both ends filter by port and one maps per destination: those
// pairs meet through a relay (here the server's WebSocket; the relay-* tests use bounces).
// Elsewhere the peer-reflexive address learned from an authenticated probe makes punching work.
// Every pair is run, its outcome printed as a table, and every pair must connect one way or the
// other. First, `wgp2p netcheck` must tell these NATs apart.
import t from 'tap';
import { NatLab, type Site, type SiteKind } from './lib/nat-lab.js';
import { requireRootOrSkip } from './lib/root.js';
import { startSignalServer } from './lib/join-agent.js';
import { cliPath } from './lib/wgp2p-tunnel.js';
import { linkPair, stopPair } from './lib/join-pair.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping'], tun: true, probeName: 'jh-probe' };
const SECRET = 'jh-hard-nat-secret-0123456789abcdef';
/** Where one end keeps one mapping and lets the other's new port in, a direct path exists. */
const MUST_WORK = new Set(['symmetric/public', 'symmetric/full-cone', 'symmetric/restricted-cone', 'cgnat/public', 'cgnat/full-cone', 'cgnat/restricted-cone']);

t.test('symmetric and cgnat pairs: outcome table', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await NatLab.create(t, { prefix: 'jh' });
  const srv = await lab.publicHost('srv', '203.0.113.10');
  const server = await startSignalServer(srv, '203.0.113.10');
  const site = async (name: string, kind: SiteKind) => lab.site(name, kind);
  const others: Record<string, Site> = {
    public: await site('pu', 'public'),
    'full-cone': await site('fc', 'full-cone'),
    'restricted-cone': await site('rc', 'restricted-cone'),
    'port-restricted': await site('pr', 'port-restricted'),
  };
  const sy = [await site('sy1', 'symmetric'), await site('sy2', 'symmetric')] as const;
  const cg = [await site('cg1', 'cgnat'), await site('cg2', 'cgnat')] as const;
  const pairs: [string, Site, string, Site][] = [];
  for (const [kind, s] of Object.entries(others)) pairs.push(['symmetric', sy[0], kind, s]);
  pairs.push(['symmetric', sy[0], 'symmetric', sy[1]]);
  for (const [kind, s] of Object.entries(others)) pairs.push(['cgnat', cg[0], kind, s]);
  pairs.push(['cgnat', cg[0], 'symmetric', sy[1]], ['cgnat', cg[0], 'cgnat', cg[1]]);

  await t.test('wgp2p netcheck tells the NATs apart', async (t) => {
    const check = async (site: Site) => {
      const r = await site.hosts[0]!.exec('node', [cliPath(), 'netcheck', '--server', server.url, '--json'], { timeoutMs: 30_000 });
      return JSON.parse(r.stdout) as { mapped?: string; mapping: string; filtering: string; hairpinning: boolean | string; latency: { stunMs?: number } };
    };
    const [pu, pr, sym] = await Promise.all([check(others.public!), check(others['port-restricted']!), check(sy[0])]);
    t.equal(pu.mapped?.split(':')[0], others.public!.wanAddress, 'public: mapped to its own address');
    t.equal(pu.filtering, 'port-independent', 'public: nothing filtered');
    t.equal(pr.mapped?.split(':')[0], others['port-restricted']!.wanAddress, 'port-restricted: mapped to the router');
    t.strictSame([pr.mapping, pr.filtering, pr.hairpinning], ['endpoint-independent', 'port-dependent', false], 'port-restricted: EIM, port-dependent filtering, no hairpinning');
    t.equal(sym.mapping, 'endpoint-dependent', 'symmetric: endpoint-dependent mapping');
    t.type(pr.latency.stunMs, 'number');
  });

  const rows: string[] = [];
  for (const [i, [ka, sa, kb, sb]] of pairs.entries()) {
    const label = `${ka}/${kb}`;
    await t.test(label, async (t) => {
      const r = await linkPair({ ns: sa.hosts[0]!, name: `${sa.name}-a` }, { ns: sb.hosts[0]!, name: `${sb.name}-b` }, { room: `hard-${i}`, server: server.url, secret: SECRET, tag: `jh${i}`, timeoutMs: 5_000 });
      t.teardown(() => stopPair(r));
      const direct = r.statusA?.path === 'direct' && r.statusB?.path === 'direct';
      const relayed = r.statusA?.path === 'relay' && r.statusB?.path === 'relay';
      const how = direct ? 'direct' : relayed ? `relayed (${r.statusA?.relay} / ${r.statusB?.relay})` : `no path (${r.statusA?.path} / ${r.statusB?.path})`;
      rows.push(`${label.padEnd(28)} ${r.firstPingMs !== undefined ? `${how}, first ping after ${r.firstPingMs} ms (${r.aToB}/5, ${r.bToA}/5)` : how}`);
      t.ok(r.agents.every((a) => a.process.running), 'both agents keep running');
      if (MUST_WORK.has(label)) {
        t.ok(r.firstPingMs !== undefined && r.firstPingMs < 5_000, `first ping ${r.firstPingMs ?? 'never'} ms after the second join`);
        t.ok(direct && r.aToB === 5 && r.bToA === 5, `direct both ways (${r.statusA?.endpoint} / ${r.statusB?.endpoint})`);
      } else {
        // No ordinary punching: the pair meets through the server's WebSocket relay (no bounce
        // here), and birthday punching may be moving a hard × port-restricted pair to direct while
        // we look (one side sees the pong first), so each side must have a path, either kind.
        const hasPath = (p: string | undefined) => p === 'direct' || p === 'relay';
        t.ok(hasPath(r.statusA?.path) && hasPath(r.statusB?.path), `status says direct or relayed on both sides (${how})`);
        t.ok(r.firstPingMs !== undefined && r.aToB === 5 && r.bToA === 5, `pings cross either way (${r.aToB}/5, ${r.bToA}/5)`);
      }
    });
  }
  t.comment(`outcome per pair (a behind the first kind, b behind the second)\n${rows.join('\n')}`);
});
