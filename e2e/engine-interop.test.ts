// Our engine against the reference wireguard-go, each side once initiator and once responder:
// pings both ways (IPv4 and IPv6), a 50 MB checksummed TCP transfer, and `wg show` on both ends.
import t, { type Test } from 'tap';
import { OURS, REF, startInteropPair } from './lib/interop-pair.js';
import { requireRootOrSkip } from './lib/root.js';
import { tcpTransfer } from './lib/tcp-transfer.js';
import type { Netns } from './lib/netns.js';

const NEEDS = { binaries: ['wireguard-go', 'wg', 'ping', 'node'], tun: true };
const MB50 = 50 * 1024 * 1024;

async function ping(ns: Netns, addr: string, t: Test): Promise<void> {
  const r = await ns.exec('ping', [...(addr.includes(':') ? ['-6'] : []), '-c', '3', '-i', '0.2', '-W', '5', addr], { timeoutMs: 30_000, allowFail: true });
  t.match(r.stdout, /3 packets transmitted, 3 received/, `${ns.name} pings ${addr}`);
}

for (const initiator of ['ours', 'ref'] as const) {
  t.test(`${initiator === 'ours' ? 'our engine' : 'wireguard-go'} initiates`, async (t) => {
    if (!(await requireRootOrSkip(t, NEEDS))) return;
    const tag = initiator === 'ours' ? 'eio' : 'eir';
    const { nsOurs, nsRef, ours, ref } = await startInteropPair(t, { tag, initiator });
    const started = Math.floor(Date.now() / 1000);
    // Only the initiator knows the endpoint: it must speak first.
    const [first, second] = initiator === 'ours' ? [[nsOurs, REF], [nsRef, OURS]] as const : [[nsRef, OURS], [nsOurs, REF]] as const;
    await ping(first[0], first[1].inner, t);
    await ping(second[0], second[1].inner, t);
    await ping(nsOurs, REF.inner6, t);
    await ping(nsRef, OURS.inner6, t);

    const mine = await ours.peerStatus(ref.publicKey);
    const theirs = await ref.peerStatus(ours.publicKey);
    for (const [side, p] of [['ours', mine], ['wireguard-go', theirs]] as const) {
      t.ok(p.latestHandshake >= started - 2 && p.latestHandshake <= Date.now() / 1000 + 1, `${side}: wg show reports the handshake (${p.latestHandshake})`);
      t.ok(p.rx > 0 && p.tx > 0, `${side}: rx ${p.rx} tx ${p.tx}`);
    }
    t.equal(mine.endpoint, `${REF.outer}:${REF.port}`, 'our engine learned or kept the right endpoint');
    t.equal(theirs.endpoint, `${OURS.outer}:${OURS.port}`);
    t.same(mine.allowedIps.sort(), [`${REF.inner}/32`, `${REF.inner6}/128`]);
    t.ok(mine.presharedKey, 'psk reported');
    const show = await ours.wgShow();
    t.match(show, new RegExp(`interface: ${ours.ifname}[\\s\\S]*listening port: ${OURS.port}[\\s\\S]*latest handshake: [\\s\\S]*transfer: `), 'wg show (human form) works against our engine');

    // 50 MB each way, hashed at both ends.
    const up = await tcpTransfer(nsOurs, nsRef, REF.inner, { bytes: MB50 });
    t.equal(up.receivedBytes, MB50, `ours → wireguard-go: ${MB50} bytes in ${up.seconds.toFixed(1)} s (${((MB50 * 8) / up.seconds / 1e6).toFixed(0)} Mbit/s)`);
    t.equal(up.receivedSha256, up.sentSha256, 'checksum matches');
    const down = await tcpTransfer(nsRef, nsOurs, OURS.inner, { bytes: MB50 });
    t.equal(down.receivedBytes, MB50, `wireguard-go → ours: ${MB50} bytes in ${down.seconds.toFixed(1)} s`);
    t.equal(down.receivedSha256, down.sentSha256, 'checksum matches');

    const after = await ours.peerStatus(ref.publicKey);
    const refAfter = await ref.peerStatus(ours.publicKey);
    t.ok(after.tx - mine.tx >= MB50 && after.rx - mine.rx >= MB50, `our counters grew by ≥ 50 MB each way (tx +${after.tx - mine.tx}, rx +${after.rx - mine.rx})`);
    t.ok(refAfter.rx - theirs.rx >= MB50, 'wireguard-go counted what we sent');
  });
}
