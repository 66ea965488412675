// The engine's message codec: round trips at the documented offsets, and total decoders (every
// length of random bytes, with and without a plausible header, gives a value or undefined).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  decodeCookieReply,
  decodeInitiation,
  decodeResponse,
  decodeTransportHeader,
  encodeCookieReply,
  encodeInitiation,
  encodeResponse,
  handshakeSender,
  macOffsets,
} from '../wireguard/messages.js';
import { MSG_COOKIE_REPLY, MSG_INITIATION, MSG_RESPONSE, MSG_TRANSPORT } from '../../shared/wire/wireguard.js';

const fill = (n: number, v: number) => Buffer.alloc(n, v);

t.test('initiation: fields at 4, 8, 40, 88; macs left zero', async (t) => {
  const b = encodeInitiation({ sender: 0x04030201, ephemeral: fill(32, 0xe0), encryptedStatic: fill(48, 0x5a), encryptedTimestamp: fill(28, 0x7e) });
  t.equal(b.toString('hex'), '01000000' + '01020304' + 'e0'.repeat(32) + '5a'.repeat(48) + '7e'.repeat(28) + '00'.repeat(32));
  const m = decodeInitiation(b)!;
  t.equal(m.sender, 0x04030201);
  t.same([m.ephemeral, m.encryptedStatic, m.encryptedTimestamp].map((x) => x.length), [32, 48, 28]);
  t.equal(handshakeSender(b), 0x04030201);
  t.same(macOffsets(MSG_INITIATION), { mac1: 116, mac2: 132 });
});

t.test('response: fields at 4, 8, 12, 44', async (t) => {
  const b = encodeResponse({ sender: 7, receiver: 0x01020304, ephemeral: fill(32, 0xe1), encryptedNothing: fill(16, 0xaa) });
  t.equal(b.toString('hex'), '02000000' + '07000000' + '04030201' + 'e1'.repeat(32) + 'aa'.repeat(16) + '00'.repeat(32));
  t.same(decodeResponse(b), { sender: 7, receiver: 0x01020304, ephemeral: fill(32, 0xe1), encryptedNothing: fill(16, 0xaa) });
  t.equal(handshakeSender(b), 7);
  t.same(macOffsets(MSG_RESPONSE), { mac1: 60, mac2: 76 });
});

t.test('cookie reply: fields at 4, 8, 32', async (t) => {
  const b = encodeCookieReply({ receiver: 9, nonce: fill(24, 0x11), encryptedCookie: fill(32, 0x22) });
  t.equal(b.toString('hex'), '03000000' + '09000000' + '11'.repeat(24) + '22'.repeat(32));
  t.same(decodeCookieReply(b), { receiver: 9, nonce: fill(24, 0x11), encryptedCookie: fill(32, 0x22) });
  t.equal(handshakeSender(b), undefined, 'a cookie reply has no sender');
  t.equal(macOffsets(MSG_COOKIE_REPLY), undefined);
});

t.test('transport header: receiver at 4, 64-bit counter at 8', async (t) => {
  const b = Buffer.from('04000000' + '05000000' + '0100000002000000' + '00'.repeat(16), 'hex');
  t.same(decodeTransportHeader(b), { receiver: 5, counter: 2 * 2 ** 32 + 1 });
});

t.test('decoders refuse the wrong type or size', async (t) => {
  const init = encodeInitiation({ sender: 1, ephemeral: fill(32, 1), encryptedStatic: fill(48, 1), encryptedTimestamp: fill(28, 1) });
  t.equal(decodeInitiation(init.subarray(0, 147)), undefined, 'one byte short');
  t.equal(decodeInitiation(Buffer.concat([init, Buffer.alloc(1)])), undefined, 'one byte long');
  t.equal(decodeResponse(init), undefined, 'an initiation is no response');
  t.equal(decodeCookieReply(init), undefined);
  t.equal(decodeTransportHeader(init), undefined);
  const reserved = Buffer.from(init);
  reserved[2] = 1;
  t.equal(decodeInitiation(reserved), undefined, 'nonzero reserved byte');
  t.equal(decodeTransportHeader(Buffer.from('04000000' + '00'.repeat(27), 'hex')), undefined, 'transport below 32 bytes');
});

t.test('decoders never throw: every length 0..200, random and with each type header', async (t) => {
  const decoders = { decodeInitiation, decodeResponse, decodeCookieReply, decodeTransportHeader, handshakeSender };
  let decoded = 0;
  for (let len = 0; len <= 200; len++) {
    const random = randomBytes(len);
    const inputs = [random];
    for (const type of [MSG_INITIATION, MSG_RESPONSE, MSG_COOKIE_REPLY, MSG_TRANSPORT]) {
      const b = Buffer.from(random);
      b.set([type, 0, 0, 0].slice(0, len));
      inputs.push(b);
    }
    for (const b of inputs) {
      for (const [name, decode] of Object.entries(decoders)) {
        let out: unknown;
        try {
          out = decode(b);
        } catch (err) {
          t.fail(`${name} threw on ${len} bytes ${b.toString('hex')}: ${String(err)}`);
          continue;
        }
        if (out !== undefined) decoded++;
      }
    }
  }
  // The loop reached the decoding paths too: each handshake type at its size (and its sender),
  // transport at every length from 32 (random inputs may add a few more).
  t.ok(decoded >= 3 + 2 + (200 - 32 + 1), `decoded ${decoded} inputs`);
});
