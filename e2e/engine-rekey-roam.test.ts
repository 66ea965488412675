// Against wireguard-go: rekeying under a running TCP transfer (our timers shortened through the
// test-only knob), and the wireguard-go peer moving to a new address and port mid-transfer.
import t from 'tap';
import { OURS, REF, startInteropPair } from './lib/interop-pair.js';
import { sleep } from './lib/process.js';
import { requireRootOrSkip } from './lib/root.js';
import { tcpTransfer } from './lib/tcp-transfer.js';

const NEEDS = { binaries: ['wireguard-go', 'wg', 'ping', 'node'], tun: true };
const MB = 1024 * 1024;

t.test('rekey under traffic keeps the TCP stream whole', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  // Our side renews its session every 2 s of sending (REKEY_AFTER_TIME shortened) and after
  // 3000 messages; wireguard-go keeps its real limits and must follow.
  const { nsOurs, nsRef, ours, ref } = await startInteropPair(t, {
    tag: 'erk',
    initiator: 'ours',
    env: { NODE_ENV: 'test', WGP2P_TEST_HOOKS: '1', WGP2P_TEST_REKEY_AFTER_TIME_MS: '2000', WGP2P_TEST_REKEY_AFTER_MESSAGES: '3000' },
  });
  await nsOurs.exec('ping', ['-c', '1', '-W', '5', REF.inner], { timeoutMs: 15_000 });
  const handshakes = new Set<number>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      handshakes.add((await ref.peerStatus(ours.publicKey)).latestHandshake);
      await sleep(300);
    }
  })();
  // ~12 s of paced traffic, both directions in turn.
  const up = await tcpTransfer(nsOurs, nsRef, REF.inner, { bytes: 40 * MB, rate: 5 * MB });
  const down = await tcpTransfer(nsRef, nsOurs, OURS.inner, { bytes: 20 * MB, rate: 5 * MB });
  polling = false;
  await poller;
  t.equal(up.receivedSha256, up.sentSha256, `40 MB up intact (${up.receivedBytes} bytes)`);
  t.equal(down.receivedSha256, down.sentSha256, `20 MB down intact (${down.receivedBytes} bytes)`);
  // Initiations are at most one per REKEY_TIMEOUT (5 s), so ~12 s of traffic gives ≥ 2 rekeys.
  t.ok(handshakes.size >= 3, `wireguard-go saw ${handshakes.size} distinct handshake times (≥ 2 rekeys) during the transfers`);
});

t.test('roaming: the wireguard-go peer moves to a new address and port mid-transfer', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const { nsOurs, nsRef, ours, ref } = await startInteropPair(t, { tag: 'erm', initiator: 'ours' });
  await nsOurs.exec('ping', ['-c', '1', '-W', '5', REF.inner], { timeoutMs: 15_000 });
  t.equal((await ours.peerStatus(ref.publicKey)).endpoint, `${REF.outer}:${REF.port}`);
  // Keep the new address when the old (primary) one is deleted: by default Linux drops secondaries with it.
  await nsRef.exec('sysctl', ['-qw', 'net.ipv4.conf.erm-r.promote_secondaries=1']);
  const transfer = tcpTransfer(nsOurs, nsRef, REF.inner, { bytes: 30 * MB, rate: 5 * MB });
  await sleep(2000);
  // New source port (wireguard-go rebinds) and new source address (the old one disappears).
  await ref.ns.exec('wg', ['set', ref.ifname, 'listen-port', '51999']);
  await nsRef.ip(['addr', 'add', '198.51.100.3/24', 'dev', 'erm-r']);
  await nsRef.ip(['addr', 'del', `${REF.outer}/24`, 'dev', 'erm-r']);
  const r = await transfer;
  t.equal(r.receivedBytes, 30 * MB);
  t.equal(r.receivedSha256, r.sentSha256, 'the transfer survived the move intact');
  t.equal((await ours.peerStatus(ref.publicKey)).endpoint, '198.51.100.3:51999', 'our engine follows the new endpoint');
  const ping = await nsOurs.exec('ping', ['-c', '2', '-i', '0.2', '-W', '3', REF.inner], { allowFail: true, timeoutMs: 15_000 });
  t.match(ping.stdout, /2 received/, 'and keeps reaching it there');
});
