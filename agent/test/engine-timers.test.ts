// Every timer rule, driven by a fake clock on the in-memory wire.
import t from 'tap';
import { EngineNet, ipv4Packet } from './fixtures/engine-net.js';
import { MSG_INITIATION, MSG_TRANSPORT } from '../../shared/wire/wireguard.js';
import {
  KEEPALIVE_TIMEOUT,
  MAX_TIMER_HANDSHAKES,
  REJECT_AFTER_TIME,
  REKEY_AFTER_TIME,
  REKEY_TIMEOUT,
} from '../wireguard/constants.js';
import type { ProtocolLimits } from '../wireguard/peer.js';

function pair(limits?: Partial<ProtocolLimits>) {
  const net = new EngineNet();
  const a = net.add('a', '198.51.100.1', 51820, limits);
  const b = net.add('b', '198.51.100.2', 51820, limits);
  net.link(a, b, '10.0.0.1', '10.0.0.2');
  return { net, a, b, pa: a.device.getPeer(b.key.publicKey)!, pb: b.device.getPeer(a.key.publicKey)! };
}
const toB = '10.0.0.2';
const sendAB = (a: { device: { sendPacket(p: Buffer): void } }, text = 'data') => a.device.sendPacket(ipv4Packet('10.0.0.1', toB, text));
const sendBA = (b: { device: { sendPacket(p: Buffer): void } }, text = 'data') => b.device.sendPacket(ipv4Packet(toB, '10.0.0.1', text));
const initiationsFrom = (net: EngineNet, n: { endpoint: unknown }) => net.wire.filter((d) => d.data[0] === MSG_INITIATION && d.from === n.endpoint).length;

t.test('retransmit every REKEY_TIMEOUT, give up after MAX_TIMER_HANDSHAKES retries and drop staged packets', async (t) => {
  const { net, a, pa } = pair();
  const lost = () => false; // the peer is unreachable
  sendAB(a);
  net.flush(lost);
  t.equal(initiationsFrom(net, a), 1);
  net.run(REKEY_TIMEOUT - 200, 100, lost);
  t.equal(initiationsFrom(net, a), 1, 'no retry before REKEY_TIMEOUT');
  net.run(300, 100, lost);
  t.equal(initiationsFrom(net, a), 2, 'first retry after REKEY_TIMEOUT');
  net.run((MAX_TIMER_HANDSHAKES + 3) * REKEY_TIMEOUT, 100, lost);
  t.equal(initiationsFrom(net, a), MAX_TIMER_HANDSHAKES + 2, 'initial + retries, then silence');
  t.equal(pa.stagedCount(), 0, 'staged packets dropped on giving up');
  t.ok(pa.timers.isPending('zeroKeyMaterial'));
});

t.test('a lost response is recovered by the retransmission', async (t) => {
  const { net, a, b } = pair();
  sendAB(a, 'eventually');
  let dropped = 0;
  net.flush((d) => !(d.from === b.endpoint && d.data[0] === 2 && dropped++ === 0));
  t.equal(b.tun.length, 0);
  net.run(REKEY_TIMEOUT + 200);
  t.equal(b.tun.map((p) => p.subarray(20).toString()).join(), 'eventually');
});

t.test('passive keepalive KEEPALIVE_TIMEOUT after receiving data when we send nothing', async (t) => {
  const { net, a, b } = pair();
  sendAB(a);
  net.flush();
  const keepalives = () => net.wire.filter((d) => d.from === b.endpoint && d.data[0] === MSG_TRANSPORT && d.data.length === 32).length;
  const before = keepalives();
  net.run(KEEPALIVE_TIMEOUT - 200);
  t.equal(keepalives(), before);
  net.run(400);
  t.equal(keepalives(), before + 1, 'one keepalive');
  net.run(3 * KEEPALIVE_TIMEOUT);
  t.equal(keepalives(), before + 1, 'and no more without new data');
});

t.test('sending data makes the keepalive unnecessary', async (t) => {
  const { net, a, b } = pair();
  sendAB(a);
  net.flush();
  net.run(KEEPALIVE_TIMEOUT / 2);
  sendBA(b, 'answer');
  net.flush();
  const bKeepalives = net.wire.filter((d) => d.from === b.endpoint && d.data[0] === MSG_TRANSPORT && d.data.length === 32).length;
  net.run(KEEPALIVE_TIMEOUT);
  t.equal(net.wire.filter((d) => d.from === b.endpoint && d.data[0] === MSG_TRANSPORT && d.data.length === 32).length, bKeepalives);
});

t.test('data sent without any answer triggers a new handshake after KEEPALIVE + REKEY_TIMEOUT', async (t) => {
  const { net, a, b } = pair();
  sendAB(a);
  net.flush();
  sendBA(b, 'answer'); // a hears back, so its first data needs no new handshake
  net.flush();
  const blackhole = () => false;
  const before = initiationsFrom(net, a);
  net.run(1000, 100, blackhole);
  sendAB(a, 'into the void');
  net.flush(blackhole);
  net.run(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT - 300, 100, blackhole);
  t.equal(initiationsFrom(net, a), before);
  net.run(600, 100, blackhole);
  t.equal(initiationsFrom(net, a), before + 1, 'new handshake');
});

t.test('the initiator rekeys after REKEY_AFTER_TIME when sending; the responder does not', async (t) => {
  const { net, a, b, pa, pb } = pair();
  sendAB(a);
  net.flush();
  const first = pa.current;
  net.run(REKEY_AFTER_TIME + 1000, 1000);
  sendBA(b, 'from responder');
  net.flush();
  t.equal(initiationsFrom(net, b), 0, 'responder does not rekey on time');
  t.equal(pb.current?.isInitiator, false);
  sendAB(a, 'from initiator');
  net.flush();
  t.equal(initiationsFrom(net, a), 2, 'initiator rekeyed');
  t.not(pa.current, first, 'new session');
  t.equal(pa.previous, first, 'old session kept as previous');
  sendAB(a, 'after rekey');
  net.flush();
  t.equal(b.tun.at(-1)!.subarray(20).toString(), 'after rekey');
});

t.test('rekey after REKEY_AFTER_MESSAGES (shortened), without losing packets', async (t) => {
  const { net, a, b, pa } = pair({ rekeyAfterMessages: 50 });
  // 200 ms between packets: initiations are at most one per REKEY_TIMEOUT, so time must move.
  for (let i = 0; i < 250; i++) {
    sendAB(a, `n${i}`);
    net.run(200);
  }
  t.ok(initiationsFrom(net, a) >= 5, `rekeyed ${initiationsFrom(net, a) - 1} times`);
  t.same(b.tun.map((p) => p.subarray(20).toString()), Array.from({ length: 250 }, (_, i) => `n${i}`), 'every packet arrived, in order');
  t.ok(pa.current!.sendCounter < 60);
});

t.test('no session is used past REJECT_AFTER_MESSAGES: the rest waits for a new one, nothing is lost', async (t) => {
  // Rekeying is off (its limit is past the reject limit) so only the hard limit acts.
  const { net, a, b, pa } = pair({ rejectAfterMessages: 20, rekeyAfterMessages: 1000 });
  sendAB(a, 'first');
  net.flush();
  const firstSession = pa.current;
  for (let i = 0; i < 30; i++) sendAB(a, `m${i}`);
  t.equal(net.queue.filter((d) => d.data[0] === MSG_TRANSPORT).length, 19, 'only counters below the limit were used');
  t.equal(pa.stagedCount(), 11, 'the rest is staged');
  // The first initiation was an instant ago: the next one is sent once REKEY_TIMEOUT allows it.
  net.run(REKEY_TIMEOUT + 500);
  t.not(pa.current, firstSession, 'a new session');
  t.same(b.tun.map((p) => p.subarray(20).toString()), ['first', ...Array.from({ length: 30 }, (_, i) => `m${i}`)], 'every packet arrived in order');
  // A counter at the limit is refused by the receiver too.
  const late = Buffer.from(net.wire.filter((d) => d.data[0] === MSG_TRANSPORT && d.from === a.endpoint).at(-1)!.data);
  late.writeUInt32LE(25, 8);
  b.device.receive(late, a.endpoint);
  t.equal(b.device.counters.get('rx_counter_exhausted'), 1);
});

t.test('no session is used past REJECT_AFTER_TIME: data waits for a new handshake', async (t) => {
  const { net, a, b, pb } = pair();
  sendAB(a);
  net.flush();
  // b (responder) only ever sends; a never sends again, so nothing renews the session.
  net.run(REJECT_AFTER_TIME + 1000, 1000, () => false);
  net.queue.length = 0;
  sendBA(b, 'late');
  t.equal(net.queue.filter((d) => d.data[0] === MSG_TRANSPORT).length, 0, 'expired session not used');
  t.equal(net.queue.filter((d) => d.data[0] === MSG_INITIATION).length, 1, 'handshake instead');
  net.flush();
  t.equal(a.tun.at(-1)!.subarray(20).toString(), 'late');
  t.ok(pb.current!.isInitiator);
});

t.test('initiator receiving on an old session starts a last-minute handshake once', async (t) => {
  const { net, a, b } = pair();
  sendAB(a);
  net.flush();
  net.run(REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT + 1000, 1000, () => false);
  const before = initiationsFrom(net, a);
  sendBA(b, 'keep it alive');
  net.flush((d) => d.from === b.endpoint && d.data[0] === MSG_TRANSPORT);
  t.equal(initiationsFrom(net, a), before + 1, 'a renewed on receive');
  sendBA(b, 'again');
  net.flush((d) => d.from === b.endpoint && d.data[0] === MSG_TRANSPORT);
  t.equal(initiationsFrom(net, a), before + 1, 'only once');
});

t.test('key material is zeroed after 3 × REJECT_AFTER_TIME without a new session', async (t) => {
  const { net, a, pa } = pair();
  sendAB(a);
  net.flush();
  t.ok(pa.current);
  net.run(3 * REJECT_AFTER_TIME - 2000, 2000, () => false);
  t.ok(pa.current, 'still held just before');
  net.run(4000, 1000, () => false);
  t.equal(pa.current, undefined);
  t.equal(pa.previous, undefined);
});

t.test('persistent keepalive: one at once when enabled, then every interval of silence', async (t) => {
  const { net, a, pa } = pair();
  sendAB(a);
  net.flush();
  net.run(KEEPALIVE_TIMEOUT + 1000); // b's passive keepalive comes and goes: from here on, silence
  const count = () => net.wire.filter((d) => d.from === a.endpoint && d.data[0] === MSG_TRANSPORT && d.data.length === 32).length;
  const before = count();
  pa.setPersistentKeepalive(25, true);
  net.flush();
  t.equal(count(), before + 1, 'sent at once');
  net.run(24_000, 1000);
  const mid = count();
  net.run(2_000, 1000);
  t.ok(count() > mid, 'sent after 25 s of silence');
  const after = count();
  net.run(60_000, 1000);
  t.ok(count() - after >= 2, 'keeps going');
  pa.setPersistentKeepalive(0, true);
  const off = count();
  net.run(60_000, 1000);
  t.equal(count(), off, 'disabled');
});
