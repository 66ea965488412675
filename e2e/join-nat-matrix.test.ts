// Issue 4's NAT matrix, on the NAT lab: for every pair among public, full-cone, restricted-cone
// and port-restricted sites, and for two hosts behind one NAT, two `wgp2p join` agents must ping
// each other through a direct WireGuard path within 5 s of the second join, and both statuses
// must say `direct`. Each pair joins its own room on one `wgp2p server` at 203.0.113.10.
import t from 'tap';
import { NatLab, type Site, type SiteKind } from './lib/nat-lab.js';
import { requireRootOrSkip } from './lib/root.js';
import { startSignalServer } from './lib/join-agent.js';
import { linkPair, stopPair } from './lib/join-pair.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping'], tun: true, probeName: 'jm-probe' };
const SECRET = 'jm-matrix-secret-0123456789abcdef';
const KINDS: SiteKind[] = ['public', 'full-cone', 'restricted-cone', 'port-restricted'];
const SHORT: Record<string, string> = { public: 'pu', 'full-cone': 'fc', 'restricted-cone': 'rc', 'port-restricted': 'pr' };

t.test('NAT matrix: direct paths within 5 s', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await NatLab.create(t, { prefix: 'jm' });
  const srv = await lab.publicHost('srv', '203.0.113.10');
  const server = await startSignalServer(srv, '203.0.113.10');
  // Two sites of each kind, so a kind can also be paired with itself.
  const sites = new Map<string, [Site, Site]>();
  for (const kind of KINDS) sites.set(kind, [await lab.site(`${SHORT[kind]}1`, kind), await lab.site(`${SHORT[kind]}2`, kind)]);
  const shared = await lab.site('tb', 'two-behind-one');

  const pairs: { label: string; a: { ns: Site['hosts'][number]; name: string }; b: { ns: Site['hosts'][number]; name: string } }[] = [];
  KINDS.forEach((ka, i) =>
    KINDS.slice(i).forEach((kb) => {
      const [sa, sb] = [sites.get(ka)![0], sites.get(kb)![ka === kb ? 1 : 0]];
      pairs.push({ label: `${ka} <-> ${kb}`, a: { ns: sa.hosts[0]!, name: `${sa.name}-a` }, b: { ns: sb.hosts[0]!, name: `${sb.name}-b` } });
    }),
  );
  pairs.push({ label: 'two hosts behind one NAT', a: { ns: shared.hosts[0]!, name: 'tb-h1' }, b: { ns: shared.hosts[1]!, name: 'tb-h2' } });

  const table: string[] = [];
  for (const [i, p] of pairs.entries()) {
    await t.test(p.label, async (t) => {
      const r = await linkPair(p.a, p.b, { room: `matrix-${i}`, server: server.url, secret: SECRET, tag: `jm${i}`, timeoutMs: 10_000 });
      t.teardown(() => stopPair(r));
      table.push(`${p.label.padEnd(40)} ${r.firstPingMs === undefined ? 'none' : `${r.firstPingMs} ms`}  ${r.statusA?.endpoint ?? '-'} / ${r.statusB?.endpoint ?? '-'}`);
      t.ok(r.firstPingMs !== undefined && r.firstPingMs < 5_000, `first ping ${r.firstPingMs ?? 'never'} ms after the second join${r.error ? `: ${r.error}` : ''}`);
      t.equal(r.aToB, 5, 'a pings b 5/5');
      t.equal(r.bToA, 5, 'b pings a 5/5');
      t.equal(r.statusA?.path, 'direct', `a: direct via ${r.statusA?.endpoint}`);
      t.equal(r.statusB?.path, 'direct', `b: direct via ${r.statusB?.endpoint}`);
      t.type(r.statusA?.rttMs, 'number');
      if (p.label.startsWith('two hosts')) t.match(r.statusA?.endpoint, /^10\.\d+\.0\.\d+:/, 'behind one NAT: the LAN path');
    });
  }
  t.comment(`pair${' '.repeat(37)}first ping  endpoints (a's view / b's view)\n${table.join('\n')}`);
});
