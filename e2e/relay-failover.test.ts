// Issue 5: killing the bounce a relayed pair uses, in the middle of a TCP transfer: the pair moves
// to the other bounce within 10 s and the transfer completes intact (same WireGuard session, so
// TCP only sees a few seconds of loss). Then b loses the signal server: a keeps the relayed link.
import t from 'tap';
import { requireRootOrSkip } from './lib/root.js';
import { pingStream } from './lib/join-agent.js';
import { createRoomLab } from './lib/room-lab.js';
import { waitPath } from './lib/relay-wait.js';
import { tcpTransfer } from './lib/tcp-transfer.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping', 'ss'], tun: true, probeName: 'rf-probe' };
const SECRET = 'rf-relay-secret-0123456789abcdef';
const MB = 1024 * 1024;

t.setTimeout(200_000);

t.test('a bounce dies mid-transfer: failover to the other one', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const { lab, srv, join } = await createRoomLab(t, { prefix: 'rf', room: 'failover', secret: SECRET });
  const bounces = [await lab.publicHost('b1', '203.0.113.21'), await lab.publicHost('b2', '203.0.113.22')];
  const bounceAgents = await Promise.all(bounces.map((ns, i) => join(ns, { name: `bounce${i + 1}`, ifname: `rfz${i + 1}`, args: ['--bounce'] })));
  const sa = await lab.site('sy1', 'symmetric');
  const sb = await lab.site('sy2', 'symmetric');
  const a = await join(sa.hosts[0]!, { name: 'a', ifname: 'rfa' });
  const b = await join(sb.hosts[0]!, { name: 'b', ifname: 'rfb' });
  const [before] = await waitPath(a, b, 'relayed through one bounce', (s) => s.path === 'relay' && /^bounce\d$/.test(s.relay ?? ''), 20_000);
  const used = bounceAgents.find((x) => x.name === before.relay)!;
  const other = bounceAgents.find((x) => x !== used)!;
  t.pass(`relayed through ${used.name}`);
  const addrB = (await b.status()).self.address!;

  // 24 MB paced at 2 MB/s: ~12 s; the bounce dies 4 s in.
  const transfer = tcpTransfer(a.ns, b.ns, addrB, { bytes: 24 * MB, rate: 2 * MB, timeoutMs: 120_000 });
  const pings = pingStream(a.ns, addrB, 20, 0.2);
  await new Promise((r) => setTimeout(r, 4_000));
  await used.process.kill('SIGKILL');
  const killedAt = Date.now();
  t.comment(`killed ${used.name}`);
  const [after] = await waitPath(a, b, `relayed through ${other.name}`, (s) => s.path === 'relay' && s.relay === other.name, 10_000);
  t.pass(`moved to ${after.relay} ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
  const r = await transfer;
  t.equal(r.receivedBytes, 24 * MB, 'the transfer completed');
  t.equal(r.receivedSha256, r.sentSha256, 'intact');
  const p = await pings;
  t.ok(p.longestGapMs < 10_000, `pings: longest silence ${p.longestGapMs} ms (< 10 s), ${p.received}/${p.sent} answered`);

  // b loses the signal server (the server drops its connection: member-left): a keeps the relayed
  // link, as it would a direct one, instead of tearing down the peer.
  const handshakeBefore = (await a.status()).peers.find((x) => x.name === 'b')!.lastHandshake;
  await b.ns.exec('nft', ['-f', '-'], { input: 'table ip rfblock {\n chain out {\n type filter hook output priority 0;\n tcp dport 8080 drop\n }\n}\n' });
  await srv.exec('ss', ['-K', '-t', 'dst', sb.wanAddress]);
  // (The bounce killed above was kept the same way: match b's line, not that one.)
  await a.process.waitForOutput(/member lost the signal server; keeping its link while it answers","name":"b"/, 10_000);
  const kept = await pingStream(a.ns, addrB, 8);
  t.ok(kept.received >= kept.sent - 1 && kept.longestGapMs < 1_500, `a still pings b through the relay: ${kept.received}/${kept.sent}`);
  const peer = (await a.status()).peers.find((x) => x.name === 'b');
  t.equal(peer?.path, 'relay', 'still relayed');
  t.equal(peer?.lastHandshake, handshakeBefore, 'the same session: the peer was not removed and re-added');
});
