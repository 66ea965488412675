// Birthday punching in the NAT lab (issue 13). A member behind a symmetric NAT that picks a random
// port per destination (`masquerade fully-random`) and one behind a port-restricted NAT start
// relayed; the symmetric side opens 256 extra sockets toward the other's public endpoint while
// that one probes random ports: the pair must go direct within 20 s, and a TCP transfer started
// while relayed must survive the move (same WireGuard session). A carrier-grade NAT (a
// port-restricted home router behind the lab's symmetric carrier) is the same case. Symmetric ×
// symmetric stays relayed, and `status` says why.
import t, { type Test } from 'tap';
import { NatLab, type Site } from './lib/nat-lab.js';
import { requireRootOrSkip } from './lib/root.js';
import { startJoinAgent, startSignalServer, type JoinAgent } from './lib/join-agent.js';
import { peerStatus, waitPath } from './lib/relay-wait.js';
import { tcpTransfer } from './lib/tcp-transfer.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping'], tun: true, probeName: 'jb-probe' };
const SECRET = 'jb-birthday-secret-0123456789abcdef';
const MB = 1024 * 1024;
/** The bound: direct within 20 s (of the pair being relayed). */
const DIRECT_WITHIN_MS = 20_000;

t.setTimeout(170_000);

t.test('birthday punching in the NAT lab', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await NatLab.create(t, { prefix: 'jb' });
  const srv = await lab.publicHost('srv', '203.0.113.10');
  const server = await startSignalServer(srv, '203.0.113.10', 'server', ['--relay']);
  const pr = await lab.site('pr', 'port-restricted');
  const start = async (site: Site, name: string, room: string, ifname: string) => {
    const a = await startJoinAgent(site.hosts[0]!, { room, server: server.url, secret: SECRET, name, ifname });
    t.teardown(() => a.stop());
    return a;
  };

  /** When the agent logged `msg` about `peer` (its own clock: the lab shares one). */
  const logged = async (a: JoinAgent, msg: string, peer: string, timeoutMs: number): Promise<number> => {
    const m = await a.process.waitForOutput(new RegExp(`"time":"([^"]+)","level":"info","component":"join","msg":"${msg}","(?:peer|name)":"${peer}"`), timeoutMs);
    return Date.parse(m[1]!);
  };

  const hardCase = async (t: Test, hard: JoinAgent, easy: JoinAgent) => {
    // The sender starts once the hard side knows the other member: its first packets wait in the
    // engine for the relayed path (punching is hopeless here), which comes seconds before any
    // birthday hit can (the attempt starts a second after relaying, then opens its sockets).
    const addr = (await easy.status()).self.address!;
    const transfer = tcpTransfer(hard.ns, easy.ns, addr, { bytes: 6 * MB, rate: MB / 2, timeoutMs: 60_000, startAfter: logged(hard, 'member joined', easy.name, 15_000) });
    const relayedAt = await logged(hard, 'relayed path up', easy.name, 15_000);
    const directAt = await logged(hard, 'birthday punching found a direct path', easy.name, DIRECT_WITHIN_MS + 5_000);
    t.ok(directAt - relayedAt <= DIRECT_WITHIN_MS, `direct ${((directAt - relayedAt) / 1000).toFixed(1)} s after relaying began`);
    const [sh, se] = await waitPath(hard, easy, 'direct', (s) => s.path === 'direct', 10_000);
    t.match(sh.endpoint, /extra socket, port \d+/, `the symmetric side sends from one of its extra sockets (${sh.endpoint} / ${se.endpoint})`);
    const r = await transfer;
    t.ok(r.startedAt < directAt, `the transfer started ${((directAt - r.startedAt) / 1000).toFixed(1)} s before the move to direct`);
    t.equal(r.receivedBytes, 6 * MB, 'the transfer started while relayed completed');
    t.equal(r.receivedSha256, r.sentSha256, 'intact');
    const hs = (await peerStatus(hard, easy.name))!.lastHandshake!;
    t.ok(Date.parse(hs) < directAt, 'no new handshake: the session moved');
    t.notOk((await hard.status()).counters.internal_errors, 'no internal errors');
    // The server saw each at the address it announces (its UDP relay binding's): attested.
    for (const a of [hard, easy]) {
      const c = (await a.status()).counters;
      t.notOk(c.birthday_refused_unattested || c.birthday_unattested, `${a.name}: its birthday target was attested by the server`);
    }
  };

  await t.test('symmetric × port-restricted goes direct, TCP survives', async (t) => {
    const sy = await lab.site('sy', 'symmetric');
    const a = await start(sy, 'hard', 'bday-1', 'jb1a');
    const b = await start(pr, 'easy', 'bday-1', 'jb1b');
    await hardCase(t, a, b);
  });

  await t.test('carrier-grade (per-destination) × port-restricted goes direct too', async (t) => {
    const cg = await lab.site('cg', 'cgnat');
    const a = await start(cg, 'cgn', 'bday-2', 'jb2a');
    const b = await start(pr, 'easy2', 'bday-2', 'jb2b');
    await hardCase(t, a, b);
  });

  await t.test('symmetric × symmetric stays relayed and says why', async (t) => {
    const s1 = await lab.site('s1', 'symmetric');
    const s2 = await lab.site('s2', 'symmetric');
    const a = await start(s1, 'sym1', 'bday-3', 'jb3a');
    const b = await start(s2, 'sym2', 'bday-3', 'jb3b');
    await waitPath(a, b, 'relayed', (s) => s.path === 'relay', 15_000);
    await new Promise((r) => setTimeout(r, 8_000));
    const s = (await a.status()).peers.find((p) => p.name === 'sym2') as { path?: string; whyRelayed?: { code: string; hint?: string; ours: { label: string }; theirs: { label: string } } };
    t.equal(s.path, 'relay', 'still relayed');
    t.equal(s.whyRelayed?.code, 'symmetric-both');
    t.equal(s.whyRelayed?.ours.label, 'symmetric');
    t.equal(s.whyRelayed?.theirs.label, 'symmetric');
    t.match(s.whyRelayed?.hint, /no direct path possible without port mapping/);
    const text = await a.cli(['status']);
    t.match(text.stdout, /relayed: symmetric × symmetric/, 'the text status says it too');
    const ping = await a.cli(['ping', 'sym2']);
    t.match(ping.stdout, /through .*\n\s+relayed: symmetric × symmetric/, 'and ping');
  });
});
