// The relay wire format: round trips, demultiplexing against WireGuard/STUN/disco, malformed input
// (decoders never throw and return undefined), encoder argument checks, and the WireGuard shape check.
import t from 'tap';
import {
  decodeRelayPacket,
  decodeWsFrame,
  encodeBind,
  encodeBound,
  encodeChallenge,
  encodeData,
  encodeUnreachable,
  encodeWsFrame,
  isRelayablePayload,
  isRelayPacket,
  MAX_RELAY_AUTH_BYTES,
  MAX_RELAY_ID_BYTES,
  RELAY_BIND,
  RELAY_BOUND,
  RELAY_CHALLENGE,
  RELAY_COOKIE_BYTES,
  RELAY_DATA,
  RELAY_MAGIC,
  RELAY_TXID_BYTES,
  RELAY_UNREACHABLE,
} from '../wire/relay.js';
import { isStunMessage } from '../stun/index.js';
import { looksLikeDisco } from '../wire/disco.js';
import { looksLikeWireGuard } from '../wire/wireguard.js';
import { seededRandom as prng } from './fixtures/seeded-random.js';

function bytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

const TXID = Buffer.from('000102030405060708090a0b', 'hex');
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
const LONGEST_ID = ID_CHARS.slice(0, MAX_RELAY_ID_BYTES); // exactly 64 characters, all of the allowed ones

/** A WireGuard transport message (type 4, three zero bytes) of `len` bytes with a recognisable body. */
function wgTransport(len: number, fill = 0xab): Buffer {
  const b = Buffer.alloc(len, fill);
  b[0] = 4;
  b[1] = b[2] = b[3] = 0;
  return b;
}

function wgMessage(type: number, len: number): Buffer {
  const b = Buffer.alloc(len, 0x5a);
  b[0] = type;
  b[1] = b[2] = b[3] = 0;
  return b;
}

/** Builds a relay packet by hand: magic, type, then the given parts. */
function raw(type: number, ...parts: (Buffer | number[])[]): Buffer {
  return Buffer.concat([RELAY_MAGIC, Buffer.from([type]), ...parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p)))]);
}

function lp(s: string): Buffer {
  return Buffer.concat([Buffer.from([Buffer.byteLength(s, 'latin1')]), Buffer.from(s, 'latin1')]);
}

t.test('constants', async (t) => {
  t.same([...RELAY_MAGIC], [0xd2, 0x5e, 0x1a, 0x01]);
  t.equal(RELAY_TXID_BYTES, 12);
  t.equal(MAX_RELAY_ID_BYTES, 64);
  t.equal(MAX_RELAY_AUTH_BYTES, 96);
  t.same([RELAY_BIND, RELAY_BOUND, RELAY_DATA, RELAY_UNREACHABLE, RELAY_CHALLENGE], [1, 2, 3, 4, 5]);
  t.equal(RELAY_COOKIE_BYTES, 16);
});

t.test('BIND round trip and exact layout', async (t) => {
  const auth = Buffer.from('deadbeefcafe', 'hex');
  const b = encodeBind(TXID, 'alice_01', auth);
  t.same(
    [...b],
    [0xd2, 0x5e, 0x1a, 0x01, RELAY_BIND, ...TXID, 8, ...Buffer.from('alice_01'), auth.length, ...auth],
    'magic, type, txid, idLen, id, authLen, auth',
  );
  t.ok(isRelayPacket(b));
  const p = decodeRelayPacket(b);
  t.same(p, { type: RELAY_BIND, txid: TXID, id: 'alice_01', auth });
  if (p?.type !== RELAY_BIND) throw new Error('not a BIND');
  t.ok(Buffer.isBuffer(p.txid) && Buffer.isBuffer(p.auth));
  // The decoded txid and auth are copies: reusing the receive buffer does not change them.
  b.fill(0);
  t.same(p.txid, TXID);
  t.same(p.auth, auth);

  for (const [id, authLen] of [
    ['a', 0],
    [LONGEST_ID, 0],
    [LONGEST_ID, MAX_RELAY_AUTH_BYTES],
    ['-_-', 1],
    ['Z9', 32],
  ] as const) {
    const a = Buffer.alloc(authLen, 0x77);
    const e = encodeBind(TXID, id, a);
    t.equal(e.length, 5 + 12 + 1 + id.length + 1 + authLen, `length for id ${id.length} auth ${authLen}`);
    t.same(decodeRelayPacket(e), { type: RELAY_BIND, txid: TXID, id, auth: a }, `id ${id.length} chars, auth ${authLen} bytes`);
  }
  // Accepts a Uint8Array txid/auth as well as a Buffer.
  t.same(decodeRelayPacket(encodeBind(new Uint8Array(12).fill(9), 'x', new Uint8Array([1, 2]))), {
    type: RELAY_BIND,
    txid: Buffer.alloc(12, 9),
    id: 'x',
    auth: Buffer.from([1, 2]),
  });
});

t.test('CHALLENGE round trip; BIND with the cookie echoed', async (t) => {
  const cookie = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const c = encodeChallenge(TXID, cookie);
  t.same([...c], [0xd2, 0x5e, 0x1a, 0x01, RELAY_CHALLENGE, ...TXID, ...cookie], 'magic, type, txid, cookie');
  t.same(decodeRelayPacket(c), { type: RELAY_CHALLENGE, txid: TXID, cookie });
  t.equal(decodeRelayPacket(c.subarray(0, c.length - 1)), undefined, 'short cookie');
  t.equal(decodeRelayPacket(Buffer.concat([c, Buffer.from([0])])), undefined, 'trailing byte');
  const auth = Buffer.alloc(32, 7);
  const b = encodeBind(TXID, 'alice', auth, cookie);
  t.same([...b], [0xd2, 0x5e, 0x1a, 0x01, RELAY_BIND, ...TXID, 5, ...Buffer.from('alice'), 32, ...auth, ...cookie], 'the cookie follows the auth');
  t.same(decodeRelayPacket(b), { type: RELAY_BIND, txid: TXID, id: 'alice', auth, cookie });
  for (const cut of [1, 15, 17]) {
    const odd = Buffer.concat([encodeBind(TXID, 'alice', auth), Buffer.alloc(cut)]);
    t.equal(decodeRelayPacket(odd), undefined, `${cut} trailing bytes are no cookie`);
  }
  t.throws(() => encodeChallenge(TXID, Buffer.alloc(15)), /cookie must be 16 bytes/);
  t.throws(() => encodeBind(TXID, 'a', auth, Buffer.alloc(8)), /cookie must be 16 bytes/);
});

t.test('BOUND round trip', async (t) => {
  const b = encodeBound(TXID);
  t.same([...b], [0xd2, 0x5e, 0x1a, 0x01, RELAY_BOUND, ...TXID]);
  t.same(decodeRelayPacket(b), { type: RELAY_BOUND, txid: TXID });
  const p = decodeRelayPacket(b);
  b.fill(0);
  t.same(p, { type: RELAY_BOUND, txid: TXID }, 'txid is a copy');
});

t.test('DATA round trip', async (t) => {
  const payload = wgTransport(48);
  const b = encodeData('bob', payload);
  t.same([...b], [0xd2, 0x5e, 0x1a, 0x01, RELAY_DATA, 3, ...Buffer.from('bob'), ...payload]);
  t.same(decodeRelayPacket(b), { type: RELAY_DATA, id: 'bob', payload });
  for (const [id, len] of [
    ['a', 1],
    [LONGEST_ID, 1],
    [LONGEST_ID, 1500],
    ['m-1', 65_535],
  ] as const) {
    const pl = bytes(prng(len), len);
    t.same(decodeRelayPacket(encodeData(id, pl)), { type: RELAY_DATA, id, payload: pl }, `id ${id.length} chars, payload ${len} bytes`);
  }
  // A payload that itself starts with the relay magic is carried verbatim.
  const nested = encodeData('inner', wgTransport(32));
  t.same(decodeRelayPacket(encodeData('outer', nested)), { type: RELAY_DATA, id: 'outer', payload: nested });
});

t.test('UNREACHABLE round trip', async (t) => {
  const b = encodeUnreachable('carol-9');
  t.same([...b], [0xd2, 0x5e, 0x1a, 0x01, RELAY_UNREACHABLE, 7, ...Buffer.from('carol-9')]);
  t.same(decodeRelayPacket(b), { type: RELAY_UNREACHABLE, id: 'carol-9' });
  t.same(decodeRelayPacket(encodeUnreachable(LONGEST_ID)), { type: RELAY_UNREACHABLE, id: LONGEST_ID });
  t.same(decodeRelayPacket(encodeUnreachable('q')), { type: RELAY_UNREACHABLE, id: 'q' });
});

t.test('WebSocket frame round trip', async (t) => {
  const payload = wgMessage(1, 148);
  const f = encodeWsFrame('dave', payload);
  t.same([...f], [4, ...Buffer.from('dave'), ...payload], 'no magic, no type');
  t.same(decodeWsFrame(f), { id: 'dave', payload });
  t.same(decodeWsFrame(encodeWsFrame(LONGEST_ID, Buffer.from([7]))), { id: LONGEST_ID, payload: Buffer.from([7]) });
  t.equal(isRelayPacket(f), false, 'a WebSocket frame is not a UDP relay packet');

  t.equal(decodeWsFrame(Buffer.alloc(0)), undefined, 'empty');
  t.equal(decodeWsFrame(Buffer.from([0, 1, 2])), undefined, 'id length 0');
  t.equal(decodeWsFrame(Buffer.concat([Buffer.from([65]), Buffer.alloc(65, 0x61), Buffer.from([1])])), undefined, 'id length 65');
  t.equal(decodeWsFrame(Buffer.from([5, 0x61, 0x62])), undefined, 'id past the end');
  t.equal(decodeWsFrame(lp('dave')), undefined, 'empty payload');
  t.equal(decodeWsFrame(Buffer.concat([lp('da ve'), Buffer.from([1])])), undefined, 'bad id character');
  // A frame has no payload length (the frame is its boundary): cuts before the first payload byte
  // are rejected, cuts inside the payload decode with what is left of it.
  const head = 1 + 'dave'.length;
  for (let n = 0; n < f.length; n++) {
    if (n <= head) t.equal(decodeWsFrame(f.subarray(0, n)), undefined, `truncated to ${n}`);
    else t.same(decodeWsFrame(f.subarray(0, n)), { id: 'dave', payload: payload.subarray(0, n - head) }, `truncated to ${n}`);
  }
});

t.test('isRelayPacket against WireGuard, STUN and disco', async (t) => {
  t.equal(isRelayPacket(encodeBound(TXID)), true);
  t.equal(isRelayPacket(Buffer.from([0xd2, 0x5e, 0x1a, 0x01, 0x09])), false, 'header alone (5 bytes) is too short');
  t.equal(isRelayPacket(Buffer.from([0xd2, 0x5e, 0x1a, 0x01, 0x09, 0x00])), true, 'six bytes with the magic');
  t.equal(isRelayPacket(new Uint8Array(0)), false);
  t.equal(isRelayPacket(Buffer.from([0xd2, 0x5e, 0x1a, 0x02, 3, 0])), false, 'wrong version');
  t.equal(isRelayPacket(Buffer.from([0xd2, 0x5e, 0x1b, 0x01, 3, 0])), false);
  t.equal(isRelayPacket(Buffer.from([0xd2, 0x5f, 0x1a, 0x01, 3, 0])), false);
  t.equal(isRelayPacket(Buffer.from([0xd3, 0x5e, 0x1a, 0x01, 3, 0])), false);

  // WireGuard: type 1..4 then three zero bytes, at every size it uses.
  for (const [type, len] of [
    [1, 148],
    [2, 92],
    [3, 64],
    [4, 32],
    [4, 1452],
  ]) {
    const wg = wgMessage(type!, len!);
    t.equal(isRelayPacket(wg), false, `WireGuard type ${type}`);
    t.equal(decodeRelayPacket(wg), undefined);
  }

  // STUN: top two bits zero, magic cookie 0x2112A442 at byte 4.
  const stun = Buffer.alloc(20);
  stun.writeUInt16BE(0x0001, 0);
  stun.writeUInt16BE(0, 2);
  stun.writeUInt32BE(0x2112a442, 4);
  TXID.copy(stun, 8);
  t.equal(isStunMessage(stun), true, 'the sample is a STUN Binding request');
  t.equal(isRelayPacket(stun), false, 'STUN');
  t.equal(decodeRelayPacket(stun), undefined);
  // And no relay packet looks like STUN: 0xD2 has its top two bits set.
  t.equal(RELAY_MAGIC[0]! & 0xc0, 0xc0);
  for (const p of [encodeBind(TXID, 'a', Buffer.alloc(0)), encodeBound(TXID), encodeData('a', wgTransport(32)), encodeUnreachable('a')]) {
    t.equal(isStunMessage(p), false, 'relay packet is not STUN');
    t.equal(looksLikeWireGuard(p), false, 'relay packet is not WireGuard');
    t.equal(looksLikeDisco(p), false, 'relay packet is not disco');
  }

  // Disco: 0xD1 0x5C 0x0D 0x01.
  for (const len of [50, 61]) {
    const disco = Buffer.concat([Buffer.from([0xd1, 0x5c, 0x0d, 0x02]), Buffer.alloc(len - 4, 0x33)]);
    t.equal(looksLikeDisco(disco), true, `disco ${len}`);
    t.equal(isRelayPacket(disco), false, `disco ${len} is not relay`);
    t.equal(decodeRelayPacket(disco), undefined);
  }
});

t.test('looksLikeWireGuard', async (t) => {
  t.equal(looksLikeWireGuard(wgMessage(1, 148)), true, 'initiation 148');
  t.equal(looksLikeWireGuard(wgMessage(2, 92)), true, 'response 92');
  t.equal(looksLikeWireGuard(wgMessage(3, 64)), true, 'cookie reply 64');
  for (const [type, len] of [
    [1, 147],
    [1, 149],
    [1, 92],
    [1, 64],
    [2, 91],
    [2, 93],
    [2, 148],
    [3, 63],
    [3, 65],
    [3, 148],
  ]) {
    t.equal(looksLikeWireGuard(wgMessage(type!, len!)), false, `type ${type} at ${len} bytes`);
  }
  // Transport: at least 32 bytes (header 16 + tag 16). Padding goes to 16 but never past the
  // sender's MTU, which need not be a multiple of 16 (1380 + 32 = 1412 is a full-size packet).
  for (const len of [32, 33, 48, 64, 92 + 4, 148 + 12, 1412, 1440, 1452, 65_535]) {
    t.equal(looksLikeWireGuard(wgTransport(len)), true, `transport ${len}`);
  }
  for (const len of [0, 4, 16, 31]) {
    t.equal(looksLikeWireGuard(wgTransport(len)), false, `transport ${len}`);
  }
  t.equal(looksLikeWireGuard(wgTransport(65_536)), false, 'over 65535');
  // Header bytes 1..3 must be zero, and the type 1..4.
  for (const i of [1, 2, 3]) {
    const p = wgTransport(48);
    p[i] = 1;
    t.equal(looksLikeWireGuard(p), false, `nonzero reserved byte ${i}`);
  }
  for (const type of [0, 5, 0xd1, 0xd2, 0xff]) {
    t.equal(looksLikeWireGuard(wgMessage(type, 148)), false, `type ${type} at 148`);
    t.equal(looksLikeWireGuard(wgMessage(type, 48)), false, `type ${type} at 48`);
  }
  t.equal(looksLikeWireGuard(Buffer.from([4, 0, 0])), false, 'three bytes');
  t.equal(looksLikeWireGuard(new Uint8Array(0)), false, 'empty');
});

t.test('looksLikeDisco and isRelayablePayload', async (t) => {
  const disco = (len: number, magic = [0xd1, 0x5c, 0x0d, 0x02]) => Buffer.concat([Buffer.from(magic), Buffer.alloc(len - 4)]);
  t.equal(looksLikeDisco(disco(50)), true);
  t.equal(looksLikeDisco(disco(61)), true);
  for (const len of [4, 42, 49, 51, 60, 62, 100]) t.equal(looksLikeDisco(disco(len)), false, `disco magic at ${len}`);
  t.equal(looksLikeDisco(disco(50, [0xd1, 0x5c, 0x0d, 0x01])), false, 'the old version');
  t.equal(looksLikeDisco(disco(50, [0xd2, 0x5c, 0x0d, 0x02])), false);
  t.equal(isRelayablePayload(disco(50)), true);
  t.equal(isRelayablePayload(wgMessage(1, 148)), true);
  t.equal(isRelayablePayload(wgTransport(31)), false);
  t.equal(isRelayablePayload(Buffer.from('hello, world')), false);
  t.equal(isRelayablePayload(encodeData('a', wgTransport(32))), false, 'a relay packet is not relayable');
});

t.test('every truncation of a valid packet decodes to undefined', async (t) => {
  // DATA has no payload length (the datagram is its boundary), so only cuts up to the end of its
  // id can be recognised; those inside the payload are checked below. Every other type is fixed
  // or length-prefixed throughout, so every cut is rejected.
  const packets: [string, Buffer, number][] = [
    ['BIND', encodeBind(TXID, 'member-1', Buffer.alloc(32, 0x42)), Infinity],
    ['BIND empty auth', encodeBind(TXID, 'member-1', Buffer.alloc(0)), Infinity],
    ['BIND longest', encodeBind(TXID, LONGEST_ID, Buffer.alloc(MAX_RELAY_AUTH_BYTES, 1)), Infinity],
    ['BOUND', encodeBound(TXID), Infinity],
    ['DATA', encodeData('member-2', wgTransport(64)), 5 + 1 + 8],
    ['DATA longest id', encodeData(LONGEST_ID, Buffer.from([4])), 5 + 1 + 64],
    ['UNREACHABLE', encodeUnreachable('member-3'), Infinity],
    ['UNREACHABLE longest id', encodeUnreachable(LONGEST_ID), Infinity],
  ];
  for (const [name, whole, upTo] of packets) {
    const p = whole.subarray(0, Math.min(whole.length, upTo + 1));
    t.ok(decodeRelayPacket(whole), `${name} decodes whole`);
    let bad = 0;
    for (let n = 0; n < p.length; n++) {
      let r: unknown;
      try {
        r = decodeRelayPacket(p.subarray(0, n));
      } catch (e) {
        t.fail(`${name} truncated to ${n} threw ${String(e)}`);
        continue;
      }
      if (r !== undefined) t.fail(`${name} truncated to ${n} decoded as ${JSON.stringify(r)}`);
      else bad++;
    }
    t.equal(bad, p.length, `${name}: all ${p.length} truncations rejected`);
  }
  // DATA cut inside its payload: a shorter payload, relayable only while it is still as long as a
  // transport message's header and tag (the relay cannot tell a cut from a short message).
  const payload = wgTransport(64);
  const data = encodeData('member-2', payload);
  for (let n = 5 + 1 + 8 + 1; n < data.length; n++) {
    const r = decodeRelayPacket(data.subarray(0, n));
    t.same(r, { type: RELAY_DATA, id: 'member-2', payload: payload.subarray(0, n - 14) }, `DATA cut to ${n}`);
    if (r?.type === RELAY_DATA) t.equal(isRelayablePayload(r.payload), n - 14 >= 32, `cut payload of ${n - 14} relayable`);
  }
});

t.test('malformed packets decode to undefined', async (t) => {
  const auth = Buffer.alloc(8, 0x11);
  const cases: [string, Buffer][] = [
    ['wrong version', Buffer.concat([Buffer.from([0xd2, 0x5e, 0x1a, 0x02, RELAY_BOUND]), TXID])],
    ['version 0', Buffer.concat([Buffer.from([0xd2, 0x5e, 0x1a, 0x00, RELAY_UNREACHABLE]), lp('abc')])],
    ['type 0', raw(0, lp('abc'), [4, 0, 0, 0])],
    ['type 5', raw(5, lp('abc'), [4, 0, 0, 0])],
    ['type 0xff', raw(0xff, TXID)],
    // BIND
    ['BIND id length 0', raw(RELAY_BIND, TXID, [0], [0])],
    ['BIND id length 65', raw(RELAY_BIND, TXID, [65], Buffer.alloc(65, 0x61), [0])],
    ['BIND id length 255', raw(RELAY_BIND, TXID, [255], Buffer.alloc(255, 0x61), [0])],
    ['BIND id past the end', raw(RELAY_BIND, TXID, [10], Buffer.from('abc'))],
    ['BIND id runs into the end, no auth length', raw(RELAY_BIND, TXID, lp('abc'))],
    ['BIND id with a space', raw(RELAY_BIND, TXID, lp('a b'), [0])],
    ['BIND id with a dot', raw(RELAY_BIND, TXID, lp('a.b'), [0])],
    ['BIND id with a NUL', raw(RELAY_BIND, TXID, lp('a\0b'), [0])],
    ['BIND id with a newline at the end', raw(RELAY_BIND, TXID, lp('ab\n'), [0])],
    ['BIND id with latin1 é', raw(RELAY_BIND, TXID, lp('ab\u00e9'), [0])],
    ['BIND auth length past the end', raw(RELAY_BIND, TXID, lp('abc'), [9], auth)],
    ['BIND trailing byte after auth', raw(RELAY_BIND, TXID, lp('abc'), [8], auth, [0])],
    ['BIND trailing byte after empty auth', raw(RELAY_BIND, TXID, lp('abc'), [0], [0])],
    ['BIND auth 97 bytes', raw(RELAY_BIND, TXID, lp('abc'), [97], Buffer.alloc(97))],
    ['BIND auth 255 bytes', raw(RELAY_BIND, TXID, lp('abc'), [255], Buffer.alloc(255))],
    ['BIND short txid', raw(RELAY_BIND, TXID.subarray(0, 11))],
    // BOUND
    ['BOUND trailing byte', raw(RELAY_BOUND, TXID, [0])],
    ['BOUND short txid', raw(RELAY_BOUND, TXID.subarray(0, 11))],
    // DATA
    ['DATA id length 0', raw(RELAY_DATA, [0], [4, 0, 0, 0])],
    ['DATA id length 65', raw(RELAY_DATA, [65], Buffer.alloc(65, 0x61), [4, 0, 0, 0])],
    ['DATA id past the end', raw(RELAY_DATA, [10], Buffer.from('abc'))],
    ['DATA bad id', raw(RELAY_DATA, lp('ab/c'), [4, 0, 0, 0])],
    ['DATA empty payload', raw(RELAY_DATA, lp('abc'))],
    ['DATA empty payload, longest id', raw(RELAY_DATA, lp(LONGEST_ID))],
    // UNREACHABLE
    ['UNREACHABLE trailing byte', raw(RELAY_UNREACHABLE, lp('abc'), [0])],
    ['UNREACHABLE id length 0', raw(RELAY_UNREACHABLE, [0])],
    ['UNREACHABLE id length 65', raw(RELAY_UNREACHABLE, [65], Buffer.alloc(65, 0x61))],
    ['UNREACHABLE id past the end', raw(RELAY_UNREACHABLE, [4], Buffer.from('abc'))],
    ['UNREACHABLE bad id', raw(RELAY_UNREACHABLE, lp('ab+c'))],
  ];
  for (const [name, p] of cases) {
    t.equal(isRelayPacket(p), !name.startsWith('wrong version') && !name.startsWith('version 0'), `${name}: has the magic`);
    let r: unknown;
    t.doesNotThrow(() => (r = decodeRelayPacket(p)), name);
    t.equal(r, undefined, name);
  }
  // The hand-built encoding is right: the same shapes with good values decode.
  t.same(decodeRelayPacket(raw(RELAY_BIND, TXID, lp('abc'), [8], auth)), { type: RELAY_BIND, txid: TXID, id: 'abc', auth });
  t.same(decodeRelayPacket(raw(RELAY_BIND, TXID, lp('abc'), [96], Buffer.alloc(96))), { type: RELAY_BIND, txid: TXID, id: 'abc', auth: Buffer.alloc(96) });
  t.same(decodeRelayPacket(raw(RELAY_BIND, TXID, lp(LONGEST_ID), [0])), { type: RELAY_BIND, txid: TXID, id: LONGEST_ID, auth: Buffer.alloc(0) });
  t.same(decodeRelayPacket(raw(RELAY_DATA, lp('abc'), [4, 0, 0, 0])), { type: RELAY_DATA, id: 'abc', payload: Buffer.from([4, 0, 0, 0]) });
  t.same(decodeRelayPacket(raw(RELAY_UNREACHABLE, lp('abc'))), { type: RELAY_UNREACHABLE, id: 'abc' });
  t.same(decodeRelayPacket(raw(RELAY_BOUND, TXID)), { type: RELAY_BOUND, txid: TXID });
});

t.test('every single-byte id character outside [A-Za-z0-9_-] is rejected', async (t) => {
  let accepted = '';
  for (let c = 0; c < 256; c++) {
    const id = 'a' + String.fromCharCode(c);
    const p = raw(RELAY_UNREACHABLE, Buffer.from([2, 0x61, c]));
    const r = decodeRelayPacket(p);
    if (r) {
      t.same(r, { type: RELAY_UNREACHABLE, id });
      accepted += String.fromCharCode(c);
    }
  }
  t.equal([...accepted].sort().join(''), [...ID_CHARS].sort().join(''), 'exactly the id alphabet decodes');
});

t.test('random buffers never throw', async (t) => {
  const rand = prng(0x5eed_2026);
  let decoded = 0;
  let ws = 0;
  for (let i = 0; i < 20_000; i++) {
    const len = Math.floor(rand() * 200);
    const b = bytes(rand, len);
    // Most start with the magic (and a plausible type) so the decoders get past the first check.
    if (i % 4 !== 0 && len >= 4) RELAY_MAGIC.copy(b, 0);
    if (i % 2 === 1 && len >= 5) b[4] = 1 + Math.floor(rand() * 5);
    // Some have a plausible id length byte, so ids and payloads get parsed too.
    if (i % 8 === 3 && len >= 6) b[5] = Math.floor(rand() * 70);
    if (i % 8 === 5 && len >= 18) b[17] = Math.floor(rand() * 70);
    try {
      const p = decodeRelayPacket(b);
      if (p) {
        decoded++;
        t.equal(isRelayPacket(b), true);
        // Whatever decodes re-encodes to the same bytes.
        const again =
          p.type === RELAY_BIND ? encodeBind(p.txid, p.id, p.auth, p.cookie)
          : p.type === RELAY_BOUND ? encodeBound(p.txid)
          : p.type === RELAY_CHALLENGE ? encodeChallenge(p.txid, p.cookie)
          : p.type === RELAY_DATA ? encodeData(p.id, p.payload)
          : encodeUnreachable(p.id);
        if (!again.equals(b)) t.fail(`re-encoding differs for ${b.toString('hex')}`);
      }
      const f = decodeWsFrame(b);
      if (f) {
        ws++;
        if (!encodeWsFrame(f.id, f.payload).equals(b)) t.fail(`ws re-encoding differs for ${b.toString('hex')}`);
      }
    } catch (e) {
      t.fail(`threw on ${b.toString('hex')}: ${String(e)}`);
    }
  }
  t.pass(`20000 buffers: ${decoded} relay packets and ${ws} ws frames decoded`);
  t.ok(decoded > 0, 'some random buffers decode (the fuzz reaches the parsers)');
});

t.test('encoders reject bad arguments', async (t) => {
  const pl = wgTransport(32);
  for (const id of ['', 'a b', 'a.b', 'é', 'a\n', '\u0101', 'x'.repeat(65), 'abc/def', 'a\0']) {
    t.throws(() => encodeBind(TXID, id, Buffer.alloc(0)), /not a member id/, `BIND id ${JSON.stringify(id)}`);
    t.throws(() => encodeData(id, pl), /not a member id/, `DATA id ${JSON.stringify(id)}`);
    t.throws(() => encodeUnreachable(id), /not a member id/, `UNREACHABLE id ${JSON.stringify(id)}`);
    t.throws(() => encodeWsFrame(id, pl), /not a member id/, `ws id ${JSON.stringify(id)}`);
  }
  for (const n of [0, 11, 13, 16]) {
    t.throws(() => encodeBind(Buffer.alloc(n), 'abc', Buffer.alloc(0)), /txid must be 12 bytes/, `BIND txid of ${n}`);
    t.throws(() => encodeBound(Buffer.alloc(n)), /txid must be 12 bytes/, `BOUND txid of ${n}`);
  }
  t.throws(() => encodeBind(TXID, 'abc', Buffer.alloc(97)), /auth too long/);
  t.throws(() => encodeBind(TXID, 'abc', Buffer.alloc(255)), /auth too long/);
  t.doesNotThrow(() => encodeBind(TXID, 'abc', Buffer.alloc(96)));
  t.doesNotThrow(() => encodeBound(TXID));
  t.doesNotThrow(() => encodeData(LONGEST_ID, pl));
});
