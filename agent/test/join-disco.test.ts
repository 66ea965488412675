// Disco packets and the demultiplexing of the shared WireGuard socket: WireGuard, STUN, disco and
// junk are told apart; disco packets open only with the pair's key; nothing hostile throws.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { makeEndpoint } from '../../shared/net/address.js';
import { stunBindingRequest } from '../../shared/stun/binding.js';
import { decodeDiscoTime as decodeTime, DISCO_PING, DISCO_PONG, peekDisco, PING_BYTES, PONG_BYTES } from '../../shared/wire/disco.js';
import { AnsweredPings, DISCO_PING_WINDOW_MS, classifyDatagram, encodePing, encodePong, newTxid, openDisco } from '../join/paths/direct/disco.js';
import { EngineNet, ipv4Packet } from './fixtures/engine-net.js';

const key = randomBytes(32);
const pairId = randomBytes(8);

t.test('ping and pong round trip, IPv4 and IPv6 observed addresses', async (t) => {
  const txid = newTxid();
  const ping = encodePing(key, 1, pairId, txid, 1_700_000_000_123);
  t.equal(ping.length, PING_BYTES);
  const opened = openDisco(key, ping);
  t.strictSame(opened, { type: DISCO_PING, side: 1, pairId, txid, sentAt: 1_700_000_000_123 });
  for (const observed of [makeEndpoint('203.0.113.7', 41641), makeEndpoint('2001:db8::1', 65535)]) {
    const pong = encodePong(key, 0, pairId, txid, observed);
    t.equal(pong.length, PONG_BYTES);
    const p = openDisco(key, pong);
    t.equal(p?.type, DISCO_PONG);
    t.strictSame(p && 'observed' in p ? p.observed : undefined, observed, `observed ${observed.address}`);
  }
});

t.test('the tag binds everything: wrong key, any flipped bit, truncation', async (t) => {
  const ping = encodePing(key, 0, pairId, newTxid());
  t.equal(openDisco(randomBytes(32), ping), undefined, 'wrong key');
  let caught = 0;
  for (let i = 4; i < ping.length; i++) {
    const bad = Buffer.from(ping);
    bad[i]! ^= 0x01;
    if (openDisco(key, bad) === undefined) caught++;
  }
  t.equal(caught, ping.length - 4, 'every bit flip after the magic is refused');
  t.equal(openDisco(key, ping.subarray(0, ping.length - 1)), undefined, 'truncated');
  t.equal(peekDisco(Buffer.concat([ping, Buffer.alloc(1)])), undefined, 'extended');
});

t.test('demultiplexing: WireGuard, STUN, disco and junk on one socket', async (t) => {
  // Real WireGuard messages from the engine on the in-memory wire.
  const net = new EngineNet();
  const { a, b } = net.addPair();
  a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'hello'));
  net.flush();
  net.flush();
  net.flush();
  const types = new Set(net.wire.map((d) => d.data[0]));
  t.ok(types.has(1) && types.has(2) && types.has(4), 'the wire carries initiation, response and transport');
  for (const d of net.wire) t.equal(classifyDatagram(d.data), 'wireguard', `WireGuard type ${d.data[0]}`);
  t.equal(classifyDatagram(stunBindingRequest().packet), 'stun', 'STUN binding request');
  t.equal(classifyDatagram(stunBindingRequest({ changePort: true }).packet), 'stun', 'STUN with CHANGE-REQUEST');
  t.equal(classifyDatagram(encodePing(key, 0, pairId, newTxid())), 'disco', 'disco ping');
  t.equal(classifyDatagram(encodePong(key, 0, pairId, newTxid(), makeEndpoint('10.0.0.1', 1))), 'disco', 'disco pong');
  const junk: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([1])],
    ['type 5', Buffer.from([5, 0, 0, 0, 1, 2, 3])],
    ['type 1 with a non-zero reserved byte', Buffer.from([1, 0, 1, 0])],
    ['disco magic, wrong version', Buffer.concat([Buffer.from([0xd1, 0x5c, 0x0d, 0x01]), Buffer.alloc(PING_BYTES - 4)])],
    ['disco magic, wrong length', Buffer.concat([Buffer.from([0xd1, 0x5c, 0x0d, 0x01]), Buffer.alloc(10)])],
    ['STUN cookie, wrong length field', (() => { const s = stunBindingRequest().packet; s.writeUInt16BE(4, 2); return s; })()],
    ['text', Buffer.from('GET / HTTP/1.1\r\n\r\n')],
  ];
  for (const [what, d] of junk) t.equal(classifyDatagram(d), 'junk', what);
});

t.test('random datagrams never throw and never open', async (t) => {
  let opened = 0;
  for (let i = 0; i < 20000; i++) {
    const len = i % 3 === 0 ? PING_BYTES : i % 3 === 1 ? PONG_BYTES : Math.floor(Math.random() * 200);
    const d = randomBytes(len);
    if (i % 2 === 0 && d.length >= 4) Buffer.from([0xd1, 0x5c, 0x0d, 0x01]).copy(d);
    classifyDatagram(d);
    if (openDisco(key, d)) opened++;
  }
  t.equal(opened, 0);
});

t.test('each ping is answered once and only while fresh; memory covers the window, bounded', async (t) => {
  const now = 1_700_000_000_000;
  const seen = new AnsweredPings(4, DISCO_PING_WINDOW_MS);
  const ping = (sentAt = now) => ({ txid: newTxid(), sentAt });
  const first = ping();
  t.ok(seen.firstTime(first, now));
  t.notOk(seen.firstTime({ ...first, txid: Buffer.from(first.txid) }, now + DISCO_PING_WINDOW_MS), 'a replay within the window');
  t.notOk(seen.firstTime(ping(now - DISCO_PING_WINDOW_MS - 1), now), 'too old');
  t.notOk(seen.firstTime(ping(now + DISCO_PING_WINDOW_MS + 1), now), 'too far ahead');
  t.ok(seen.firstTime(ping(now - DISCO_PING_WINDOW_MS + 1_000), now), 'clock skew within the window');
  for (let i = 0; i < 2; i++) t.ok(seen.firstTime(ping(), now));
  t.notOk(seen.firstTime(ping(), now), 'full: refused rather than forgetting a fresh id');
  const later = now + 2 * DISCO_PING_WINDOW_MS + 1;
  t.notOk(seen.firstTime(first, later), 'the first, replayed after it expired from memory, is stale');
  t.ok(seen.firstTime(ping(later), later), 'expired ids make room');
  t.equal(decodeTime(encodePing(Buffer.alloc(32), 0, Buffer.alloc(8), newTxid(), now)), now, 'the send time is in the ping');
});
