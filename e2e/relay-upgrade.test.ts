// Issue 5: a pair starts relayed because one router is symmetric; the router is replaced by a
// port-restricted one; within 30 s the pair is direct; then the router turns symmetric again and
// the pair falls back to the relay. A TCP transfer running across both switches completes intact
// (the WireGuard session just moves endpoints: no new handshake is needed).
import t from 'tap';
import { requireRootOrSkip } from './lib/root.js';
import { createRoomLab } from './lib/room-lab.js';
import { waitPath } from './lib/relay-wait.js';
import { tcpTransfer } from './lib/tcp-transfer.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping'], tun: true, probeName: 'ru-probe' };
const SECRET = 'ru-relay-secret-0123456789abcdef';
const MB = 1024 * 1024;

t.setTimeout(200_000);

t.test('relay → direct when the NAT allows it, direct → relay when it stops, without breaking TCP', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const { lab, join } = await createRoomLab(t, { prefix: 'ru', room: 'upgrade', secret: SECRET });
  await join(await lab.publicHost('bnc', '203.0.113.20'), { name: 'bounce', ifname: 'ruz', args: ['--bounce'] });
  const sa = await lab.site('sy', 'symmetric');
  const sb = await lab.site('pr', 'port-restricted');
  // This test is about the NAT changing under the pair: birthday punching would take the
  // symmetric × port-restricted pair direct on its own (e2e/join-birthday.test.ts), so it is off.
  const a = await join(sa.hosts[0]!, { name: 'a', ifname: 'rua', args: ['--no-birthday'] });
  const b = await join(sb.hosts[0]!, { name: 'b', ifname: 'rub', args: ['--no-birthday'] });
  await waitPath(a, b, 'relayed', (s) => s.path === 'relay' && s.relay === 'bounce', 20_000);
  t.pass('relayed while a is behind a symmetric NAT');
  const handshakeBefore = (await a.status()).peers.find((p) => p.name === 'b')!.lastHandshake;
  const addrB = (await b.status()).self.address!;

  // ~60 s of paced TCP; the NAT changes 3 s in.
  const transfer = tcpTransfer(a.ns, b.ns, addrB, { bytes: 60 * MB, rate: 1 * MB, timeoutMs: 150_000 });
  await new Promise((r) => setTimeout(r, 3_000));
  // A router replaced (or rebooted into new rules) starts with an empty table. Without the flush,
  // the flows the agents keep refreshing (to the bounce, the STUN server and b) would keep their
  // per-destination mappings for as long as they are used, as on a real router whose rules change.
  await lab.setNatKind(sa, 'port-restricted', { flush: true });
  const switchedAt = Date.now();
  const [sA, sB] = await waitPath(a, b, 'direct', (s) => s.path === 'direct', 30_000);
  t.pass(`direct ${((Date.now() - switchedAt) / 1000).toFixed(1)} s after the NAT change (${sA.endpoint} / ${sB.endpoint})`);
  const handshakeAfter = (await a.status()).peers.find((p) => p.name === 'b')!.lastHandshake;
  t.equal(handshakeAfter, handshakeBefore, 'the same WireGuard session carried on: no handshake because the path moved');
  // And back: the router becomes symmetric again; the direct path dies and the pair falls back to
  // the relay while the same transfer keeps running.
  await new Promise((r) => setTimeout(r, 2_000));
  await lab.setNatKind(sa, 'symmetric', { flush: true });
  const brokeAt = Date.now();
  await waitPath(a, b, 'relayed again', (s) => s.path === 'relay', 20_000);
  t.pass(`back on the relay ${((Date.now() - brokeAt) / 1000).toFixed(1)} s after the direct path broke`);
  const r = await transfer;
  t.equal(r.receivedBytes, 60 * MB, 'the transfer running across both switches completed');
  t.equal(r.receivedSha256, r.sentSha256, 'intact');
});
