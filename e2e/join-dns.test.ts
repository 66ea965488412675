// Names: each agent answers DNS for its room on its room address. dig from alice's namespace
// gets bob's address, `ping bob.office` works through the resolv.conf the agent wrote (each
// namespace has its own under /etc/netns, so the host's is never touched, and it comes back on
// exit), a name clash resolves the same on every member, a departed member's name stops
// resolving, unknown names are NXDOMAIN, outside names REFUSED, and garbage plus a query burst
// are dropped and counted while names keep resolving.
//
//   jd-sw: bridge jdbr ── jd-srv 198.51.100.10 (server) ── jd-a .11 (alice) ── jd-b .12 (bob) ── jd-c .13 (carol, named bob too)
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Netns } from './lib/netns.js';
import { plainLan } from './lib/plain-lan.js';
import { requireRootOrSkip } from './lib/root.js';
import { waitFor } from './lib/process.js';
import { startJoinAgent, startSignalServer, type JoinAgent } from './lib/join-agent.js';

const NEEDS = { binaries: ['node', 'ping', 'dig'], tun: true, probeName: 'jd-probe' };
const SECRET = 'jd-dns-secret-0123456789abcdef';
const ROOM = 'office';
const ORIGINAL_RESOLV = 'nameserver 192.0.2.53\nsearch lab.example\n';

/** `dig @server name`: the status and the answers. */
async function dig(ns: Netns, server: string, name: string, extra: string[] = []): Promise<{ status: string; answers: string[] }> {
  const r = await ns.exec('dig', [`@${server}`, name, '+tries=1', '+time=2', ...extra], { allowFail: true, timeoutMs: 10_000 });
  const status = /status: ([A-Z]+)/.exec(r.stdout)?.[1] ?? `no answer (${r.code})`;
  const answers = [...r.stdout.matchAll(/^\S+\s+\d+\s+IN\s+A+\s+(\S+)$/gm)].map((m) => m[1]!);
  return { status, answers };
}

t.test('room names over DNS', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const [srvNs, aNs, bNs, cNs] = await plainLan(t, { prefix: 'jd', labName: 'jd-dns', names: ['srv', 'a', 'b', 'c'] });
  // `ip netns exec` binds /etc/netns/NS/resolv.conf over /etc/resolv.conf: alice writes that one.
  const hostResolv = existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : undefined;
  const nsDir = `/etc/netns/${aNs.name}`;
  mkdirSync(nsDir, { recursive: true });
  writeFileSync(`${nsDir}/resolv.conf`, ORIGINAL_RESOLV);
  t.teardown(() => rmSync(nsDir, { recursive: true, force: true }));

  const server = await startSignalServer(srvNs, '198.51.100.10');
  const base = { room: ROOM, server: server.url, secret: SECRET };
  const alice = await startJoinAgent(aNs, { ...base, name: 'alice', ifname: 'jda0', args: ['--dns-config', 'resolv-conf'] });
  const bob = await startJoinAgent(bNs, { ...base, name: 'bob', ifname: 'jdb0', args: ['--dns-config', 'off'] });
  const carol = await startJoinAgent(cNs, { ...base, name: 'bob', ifname: 'jdc0', args: ['--dns-config', 'off'] });
  const agents: JoinAgent[] = [alice, bob, carol];
  const addr = await Promise.all(agents.map(async (a) => (await a.status()).self.address!));
  const [aAddr, bAddr, cAddr] = addr as [string, string, string];
  await waitFor(async () => (await alice.status()).peers.filter((p) => p.path === 'direct').length === 2, { timeoutMs: 15_000 });

  await waitFor(async () => (await dig(aNs, aAddr, 'bob.office')).answers.length === 1, { timeoutMs: 10_000 });
  const got = await dig(aNs, aAddr, 'bob.office');
  t.equal(got.status, 'NOERROR');
  // The clash: bob announced "bob" first (carol started after it), so bob keeps it whatever the
  // keys; carol is bob-2, on every member.
  const [keeper, other] = [bAddr, cAddr];
  t.same(got.answers, [keeper], `dig @${aAddr} bob.office answers the earlier claim's address (${keeper})`);
  const asked = [[aNs, aAddr], [aNs, bAddr], [aNs, cAddr], [bNs, bAddr], [cNs, cAddr]] as const;
  for (const [ns, server] of asked) {
    await waitFor(async () => (await dig(ns, server, 'bob-2.office')).answers[0] === other, { timeoutMs: 5_000 });
    t.same((await dig(ns, server, 'BOB.office')).answers, [keeper], `${server} from ${ns.name}: bob.office → ${keeper}`);
    t.same((await dig(ns, server, 'bob-2.office')).answers, [other], `${server} from ${ns.name}: bob-2.office → ${other}`);
  }
  t.same((await dig(aNs, aAddr, 'alice.office', ['+tcp'])).answers, [aAddr], 'over TCP too, our own name included');
  t.equal((await dig(aNs, aAddr, 'nobody.office')).status, 'NXDOMAIN');
  const outside = await dig(aNs, aAddr, 'example.com');
  t.equal(outside.status, 'REFUSED', 'outside names are refused, never forwarded');
  t.same(outside.answers, []);

  // The system resolver: resolv.conf names us first, so plain names resolve in the namespace.
  const resolv = readFileSync(`${nsDir}/resolv.conf`, 'utf8');
  t.match(resolv, new RegExp(`^# wgp2p join.*\\nnameserver ${aAddr.replace(/\./g, '\\.')}\\nsearch office lab\\.example\\n`), 'resolv.conf: our nameserver and domain first');
  const ping = await aNs.exec('ping', ['-c', '1', '-W', '3', `bob-2.office`], { allowFail: true, timeoutMs: 10_000 });
  t.equal(ping.code, 0, `ping -c1 bob-2.office in alice's namespace: ${ping.stdout.split('\n')[0]}`);
  t.match(ping.stdout, new RegExp(`\\(${other.replace(/\./g, '\\.')}\\)`));
  if (hostResolv !== undefined) t.equal(readFileSync('/etc/resolv.conf', 'utf8'), hostResolv, "the host's resolv.conf is untouched");

  // Status and ping take DNS names.
  const sa = await alice.status();
  t.same(sa.peers.map((p) => p.dnsName).sort(), ['bob-2.office', 'bob.office']);
  t.equal(sa.self.dnsName, 'alice.office');
  const pr = await alice.cli(['ping', 'bob-2.office', '--json']);
  t.match(JSON.parse(pr.stdout), { address: other }, 'wgp2p ping bob-2.office');
  const st = await alice.cli(['status', 'BOB-2', '--json']);
  t.same((JSON.parse(st.stdout) as { peers: { address: string }[] }).peers.map((p) => p.address), [other], 'wgp2p status BOB-2');

  // Hostile: garbage, oversized and a burst of queries from bob to alice; names keep resolving.
  const flood = `
    const s = require('node:dgram').createSocket('udp4');
    const q = (id) => Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from('\\x05alice\\x06office\\x00\\x00\\x01\\x00\\x01', 'latin1')]);
    const packets = [];
    for (let i = 0; i < 100; i++) packets.push(Buffer.from(Array.from({ length: 13 + i }, (_, j) => (i * 7 + j * 13) & 0x7f)));
    packets.push(Buffer.alloc(4000, 0x41), Buffer.alloc(3));
    for (let i = 0; i < 400; i++) packets.push(q(i));
    let n = 0;
    const next = () => n < packets.length ? s.send(packets[n++], 53, '${aAddr}', next) : s.close();
    next();`;
  await bNs.exec('node', ['-e', flood], { timeoutMs: 20_000 });
  const after = Date.now();
  const statuses: string[] = [];
  await waitFor(async () => {
    const r = await dig(aNs, aAddr, 'bob.office');
    statuses.push(r.status);
    return r.answers[0] === keeper;
  }, { timeoutMs: 5_000 });
  t.ok(Date.now() - after < 5_000, `names still resolve after the flood (dig answers: ${statuses.join(', ')})`);
  const counters = (await alice.status()).counters;
  t.ok((counters.dns_dropped ?? 0) >= 100, `dropped and counted: dns_dropped=${counters.dns_dropped} dns_rate_limited=${counters.dns_rate_limited} dns_formerr=${counters.dns_formerr}`);
  t.ok((counters.dns_rate_limited ?? 0) > 0);
  t.ok((counters.dns_refused ?? 0) >= 1 && (counters.dns_nxdomain ?? 0) >= 1);

  // A departed member's name stops resolving.
  const gone = other === cAddr ? carol : bob;
  await gone.stop();
  await waitFor(async () => (await dig(aNs, aAddr, 'bob-2.office')).status === 'NXDOMAIN', { timeoutMs: 10_000 });
  t.pass('bob-2.office is NXDOMAIN once its member left');

  // alice leaving puts her namespace's resolv.conf back.
  await alice.stop();
  t.equal(readFileSync(`${nsDir}/resolv.conf`, 'utf8'), ORIGINAL_RESOLV, 'resolv.conf restored on exit');
});
