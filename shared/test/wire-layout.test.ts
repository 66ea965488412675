// Pins the bytes of shared/wire/: a change to any layout fails here, not between two versions of
// the agent and server. Also: every shared/wire decoder is total on short and odd input.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { makeEndpoint } from '../net/address.js';
import {
  decodeDiscoAddress,
  DISCO_MAGIC,
  DISCO_PING,
  DISCO_PONG,
  encodeDiscoAddress,
  encodeDiscoHeader,
  looksLikeDisco,
  peekDisco,
  PING_BYTES,
  encodeDiscoTime,
  decodeDiscoTime,
  PONG_BYTES,
} from '../wire/disco.js';
import * as relay from '../wire/relay.js';
import {
  COOKIE_REPLY,
  hasWireGuardHeader,
  INITIATION,
  looksLikeWireGuard,
  messageType,
  RESPONSE,
  TRANSPORT_HEADER_SIZE,
  TRANSPORT_MIN_SIZE,
} from '../wire/wireguard.js';

const TXID = Buffer.from('000102030405060708090a0b', 'hex');
const COOKIE = Buffer.alloc(16, 0xc0);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

t.test('WireGuard sizes: each message ends with its last field', async (t) => {
  t.same([INITIATION.size, RESPONSE.size, COOKIE_REPLY.size, TRANSPORT_HEADER_SIZE, TRANSPORT_MIN_SIZE], [148, 92, 64, 16, 32]);
  t.equal(INITIATION.mac2 + 16, INITIATION.size);
  t.equal(RESPONSE.mac2 + 16, RESPONSE.size);
  t.equal(COOKIE_REPLY.cookie + 32, COOKIE_REPLY.size, 'the sealed cookie: 16 bytes and its tag');
  t.equal(TRANSPORT_HEADER_SIZE + 16, TRANSPORT_MIN_SIZE, 'a keepalive: header and tag');
});

t.test('relay datagrams, byte for byte', async (t) => {
  t.equal(hex(relay.RELAY_MAGIC), 'd25e1a01');
  t.equal(hex(relay.encodeBind(TXID, 'ab', Buffer.from([0xee, 0xff]))), 'd25e1a01' + '01' + hex(TXID) + '02' + '6162' + '02' + 'eeff');
  t.equal(hex(relay.encodeBind(TXID, 'ab', Buffer.alloc(0), COOKIE)), 'd25e1a01' + '01' + hex(TXID) + '02' + '6162' + '00' + hex(COOKIE));
  t.equal(hex(relay.encodeBound(TXID)), 'd25e1a01' + '02' + hex(TXID));
  t.equal(hex(relay.encodeChallenge(TXID, COOKIE)), 'd25e1a01' + '05' + hex(TXID) + hex(COOKIE));
  const data = relay.encodeData('m-1', Buffer.from('04000000', 'hex'));
  t.equal(hex(data), 'd25e1a01' + '03' + '03' + '6d2d31' + '04000000');
  t.equal(relay.dataPayloadLength(data), 4);
  t.equal(relay.relayPacketType(data), 3);
  t.equal(hex(relay.encodeUnreachable('Z')), 'd25e1a01' + '04' + '01' + '5a');
  t.equal(relay.dataPayloadLength(relay.encodeUnreachable('Z')), undefined, 'only DATA has a payload');
  t.equal(hex(relay.encodeWsFrame('ab', Buffer.from([9]))), '02' + '6162' + '09', 'WebSocket frames: no magic, no type');
});

t.test('disco framing, byte for byte', async (t) => {
  t.equal(hex(DISCO_MAGIC), 'd15c0d02');
  t.same([PING_BYTES, PONG_BYTES], [50, 61]);
  const pairId = Buffer.from('1112131415161718', 'hex');
  const h = encodeDiscoHeader(DISCO_PONG, 1, pairId, TXID);
  t.equal(hex(h), 'd15c0d02' + '02' + '01' + hex(pairId) + hex(TXID));
  const v4 = encodeDiscoAddress(makeEndpoint('192.0.2.7', 51820));
  t.equal(hex(v4), '04' + 'ca6c' + 'c0000207' + '00'.repeat(12), 'IPv4 zero-padded to 16 bytes');
  const v6 = encodeDiscoAddress(makeEndpoint('2001:db8::1', 443));
  t.equal(hex(v6), '06' + '01bb' + '20010db8' + '00'.repeat(11) + '01');
  const pong = Buffer.concat([h, v4, Buffer.alloc(16)]);
  t.same(peekDisco(pong), { type: DISCO_PONG, side: 1, pairId, txid: TXID });
  t.same(decodeDiscoAddress(pong), makeEndpoint('192.0.2.7', 51820));
  const sentAt = encodeDiscoTime(0x0102030405);
  t.equal(hex(sentAt), '0000000102030405', 'a ping\'s send time: 8 bytes, big-endian wall ms');
  const ping = Buffer.concat([encodeDiscoHeader(DISCO_PING, 0, pairId, TXID), sentAt, Buffer.alloc(16)]);
  t.same(peekDisco(ping), { type: DISCO_PING, side: 0, pairId, txid: TXID });
  t.equal(decodeDiscoTime(ping), 0x0102030405);
  t.equal(peekDisco(Buffer.concat([h, Buffer.alloc(16)])), undefined, 'a pong at a ping size');
});

t.test('shared/wire decoders never throw: every length 0..200, random and behind each magic', async (t) => {
  const decoders: Record<string, (b: Buffer) => unknown> = {
    hasWireGuardHeader,
    messageType,
    looksLikeWireGuard,
    looksLikeDisco,
    peekDisco,
    decodeDiscoAddress,
    isRelayPacket: relay.isRelayPacket,
    relayPacketType: relay.relayPacketType,
    decodeRelayPacket: relay.decodeRelayPacket,
    dataPayloadLength: relay.dataPayloadLength,
    decodeWsFrame: relay.decodeWsFrame,
    isRelayablePayload: relay.isRelayablePayload,
  };
  const prefixes = [Buffer.alloc(0), Buffer.from([4, 0, 0, 0]), DISCO_MAGIC, ...[1, 2, 3, 4, 5].map((type) => Buffer.concat([relay.RELAY_MAGIC, Buffer.from([type])]))];
  for (let len = 0; len <= 200; len++) {
    for (const prefix of prefixes) {
      const b = randomBytes(len);
      b.set(prefix.subarray(0, len));
      for (const [name, decode] of Object.entries(decoders)) {
        try {
          decode(b);
        } catch (err) {
          t.fail(`${name} threw on ${len} bytes ${hex(b)}: ${String(err)}`);
        }
      }
    }
  }
  t.pass('no decoder threw');
});
