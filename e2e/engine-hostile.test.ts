// Our running daemon under bad input from the network: junk, truncated and forged handshakes,
// replayed transport packets and initiations (captured for real), a decrypted packet from a
// source outside allowed-IPs, and a flood of initiations that must turn on cookie replies
// while wireguard-go still completes its handshake.
import { join } from 'node:path';
import t from 'tap';
import { OURS, REF, startInteropPair } from './lib/interop-pair.js';
import { readUdpFromPcap } from './lib/pcap.js';
import { runCommand, sleep } from './lib/process.js';
import { requireRootOrSkip } from './lib/root.js';
import { cliPath, projectRoot } from './lib/wgp2p-tunnel.js';
import type { Netns } from './lib/netns.js';

const NEEDS = { binaries: ['wireguard-go', 'wg', 'ping', 'node', 'tcpdump'], tun: true };
const tool = (name: string) => join(projectRoot(), 'e2e/tools', name);

async function counters(ifname: string): Promise<Record<string, number>> {
  const r = await runCommand('node', [cliPath(), 'status', '--interface', ifname, '--json']);
  return (JSON.parse(r.stdout) as { counters: Record<string, number> }).counters;
}

async function send(ns: Netns, datagrams: Buffer[]): Promise<void> {
  await ns.exec('node', [tool('udp-send.mjs'), OURS.outer, String(OURS.port), 'hex'], { input: datagrams.map((d) => d.toString('hex')).join('\n') + '\n' });
}

t.test('bad input is dropped, counted, and the tunnel survives', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const { lab, nsOurs, nsRef, ours, ref } = await startInteropPair(t, { tag: 'ehb', initiator: 'ref' });
  const pcap = join(lab.logDir, 'in.pcap');
  const capture = nsOurs.spawn('tcpdump', ['-Z', 'root', '--immediate-mode', '-n', '-U', '-i', 'ehb-o', '-w', pcap, 'udp', 'and', 'dst', 'port', String(OURS.port)], { name: 'ehb.tcpdump' });
  await capture.waitForOutput(/listening on/, 10_000);
  // One ping first: the handshake holds it alone. Pings queued behind a slow handshake could leave
  // wireguard-go in one UDP GSO send, which a veth capture shows as a single datagram.
  const first = await nsRef.exec('ping', ['-c', '1', '-W', '5', OURS.inner], { timeoutMs: 20_000, allowFail: true });
  t.match(first.stdout, /1 received/, 'tunnel up (wireguard-go initiated)');
  const ping = await nsRef.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', OURS.inner], { timeoutMs: 20_000, allowFail: true });
  t.match(ping.stdout, /3 received/, 'data flows');
  await sleep(300);
  await capture.kill('SIGINT');
  const captured = (await readUdpFromPcap(pcap)).map((d) => d.payload);
  const initiation = captured.find((p) => p[0] === 1 && p.length === 148);
  const transports = captured.filter((p) => p[0] === 4 && p.length > 32);
  t.ok(initiation, 'captured the initiation');
  t.ok(transports.length >= 3, `captured ${transports.length} data packets`);
  if (!initiation) return;

  const before = await counters(ours.ifname);
  await nsRef.exec('node', [tool('udp-send.mjs'), OURS.outer, String(OURS.port), 'random', '500']);
  const truncated = [1, 4, 31, 91, 147].map((n) => initiation.subarray(0, n));
  const badMac1 = Buffer.from(initiation);
  badMac1[120]! ^= 0x55;
  // Replays come from another source port: had they been accepted, we would roam there.
  await send(nsRef, [...truncated, badMac1, ...transports, initiation]);
  // A real packet from wireguard-go whose inner source is not in its allowed IPs.
  await nsRef.ip(['addr', 'add', '10.77.9.9/32', 'dev', ref.ifname]);
  await nsRef.exec('ping', ['-c', '2', '-i', '0.2', '-W', '1', '-I', '10.77.9.9', OURS.inner], { allowFail: true, timeoutMs: 10_000 });
  await sleep(300);

  const after = await counters(ours.ifname);
  const grew = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
  t.ok(grew('rx_malformed') >= 5, `junk and truncated datagrams counted as malformed (+${grew('rx_malformed')})`);
  t.ok(grew('rx_bad_mac1') >= 1, `forged mac1 counted (+${grew('rx_bad_mac1')})`);
  t.ok(grew('rx_replay') >= transports.length, `every replayed transport packet refused (+${grew('rx_replay')})`);
  t.equal(grew('rx_replayed_initiation'), 1, 'replayed initiation refused');
  t.ok(grew('rx_disallowed_source') >= 1, `packet from outside allowed IPs dropped (+${grew('rx_disallowed_source')})`);
  t.equal((await ours.peerStatus(ref.publicKey)).endpoint, `${REF.outer}:${REF.port}`, 'no replay moved the endpoint');
  t.ok(ours.process.running, 'daemon alive');
  const again = await nsOurs.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', REF.inner], { timeoutMs: 20_000, allowFail: true });
  t.match(again.stdout, /3 received/, 'tunnel still works');
});

t.test('an initiation flood turns on cookie replies; wireguard-go still gets through', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const { nsOurs, nsRef, ours, ref } = await startInteropPair(t, { tag: 'ehc', initiator: 'ref' });
  await nsRef.ip(['addr', 'add', '198.51.100.66/24', 'dev', 'ehc-r']);
  const flood = nsRef.spawn('node', [tool('initiation-flood.mjs'), ours.publicKey, OURS.outer, String(OURS.port), '30', '3000', '198.51.100.66'], { name: 'ehc.flood' });
  await sleep(1500);
  const started = Date.now();
  // wireguard-go's first initiation gets a cookie reply; its retry carries mac2 and is let in.
  const ping = await nsRef.exec('ping', ['-c', '1', '-w', '25', OURS.inner], { timeoutMs: 30_000, allowFail: true });
  const took = (Date.now() - started) / 1000;
  const c = await counters(ours.ifname);
  t.ok(flood.running, 'the flood was still running when the handshake completed');
  await flood.kill('SIGTERM');
  t.match(ping.stdout, / [1-9]\d* received/, `wireguard-go completed its handshake under load after ${took.toFixed(1)} s`);
  t.ok((c.tx_cookie_reply ?? 0) > 100, `cookie replies sent: ${c.tx_cookie_reply}`);
  t.ok((await ref.peerStatus(ours.publicKey)).latestHandshake > 0, 'wg show on wireguard-go shows the handshake');
  const back = await nsOurs.exec('ping', ['-c', '2', '-i', '0.2', '-W', '5', REF.inner], { timeoutMs: 20_000, allowFail: true });
  t.match(back.stdout, /2 received/);
});
