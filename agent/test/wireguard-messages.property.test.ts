// Property tests of the WireGuard message codec: the type test never throws and only admits
// exact sizes, and every admitted handshake message decodes and re-encodes to the same bytes.
import t from 'tap';
import fc from 'fast-check';
import { checkProperty } from '../../fuzz/check.js';
import { hostileBytes } from '../../fuzz/mutate.js';
import {
  COOKIE_REPLY,
  INITIATION,
  MSG_COOKIE_REPLY,
  MSG_INITIATION,
  MSG_RESPONSE,
  MSG_TRANSPORT,
  RESPONSE,
  TRANSPORT_MIN_SIZE,
  messageType,
} from '../../shared/wire/wireguard.js';
import {
  decodeCookieReply,
  decodeInitiation,
  decodeResponse,
  decodeTransportHeader,
  encodeCookieReply,
  encodeInitiation,
  encodeResponse,
} from '../wireguard/messages.js';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b));
const u32 = fc.nat({ max: 0xffff_ffff });

const initiation = fc.record({ sender: u32, ephemeral: bytes(32), encryptedStatic: bytes(48), encryptedTimestamp: bytes(28) });
const response = fc.record({ sender: u32, receiver: u32, ephemeral: bytes(32), encryptedNothing: bytes(16) });
const cookieReply = fc.record({ receiver: u32, nonce: bytes(24), encryptedCookie: bytes(32) });

function seeds(): Buffer[] {
  const [i] = fc.sample(initiation, { numRuns: 1, seed: 1 });
  const [r] = fc.sample(response, { numRuns: 1, seed: 2 });
  const [c] = fc.sample(cookieReply, { numRuns: 1, seed: 3 });
  const transport = Buffer.alloc(48);
  transport[0] = MSG_TRANSPORT;
  return [encodeInitiation(i!), encodeResponse(r!), encodeCookieReply(c!), transport];
}

/** A datagram with a well-formed header of a random type and a size near the legal ones. */
const headerShaped = fc
  .tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom(INITIATION.size, RESPONSE.size, COOKIE_REPLY.size, TRANSPORT_MIN_SIZE, 4, 200), fc.integer({ min: -1, max: 1 }))
  .chain(([type, size, delta]) => bytes(Math.max(0, size + delta)).map((b) => (b.length >= 4 ? (b.fill(0, 0, 4), (b[0] = type), b) : b)));

t.test('messageType never throws and admits only the exact sizes', async (t) => {
  checkProperty(
    t,
    'messageType',
    fc.property(fc.oneof(hostileBytes(seeds(), 300), headerShaped), (d) => {
      const type = messageType(d);
      if (type === 0) return true;
      if (d[1] !== 0 || d[2] !== 0 || d[3] !== 0 || d[0] !== type) return false;
      const sizeOk =
        (type === MSG_INITIATION && d.length === INITIATION.size) ||
        (type === MSG_RESPONSE && d.length === RESPONSE.size) ||
        (type === MSG_COOKIE_REPLY && d.length === COOKIE_REPLY.size) ||
        (type === MSG_TRANSPORT && d.length >= TRANSPORT_MIN_SIZE);
      if (!sizeOk) return false;
      // What the device reads next must not throw on anything admitted; counters past 2^53 are
      // inexact (the replay window refuses them), but never negative or NaN.
      if (type === MSG_TRANSPORT) {
        const h = decodeTransportHeader(d);
        return !!h && h.receiver >= 0 && h.counter >= 0;
      }
      return true;
    }),
    { numRuns: 3000 },
  );
});

t.test('admitted handshake messages round-trip through decode and encode', async (t) => {
  checkProperty(
    t,
    'decode then encode gives the same bytes (macs aside)',
    fc.property(fc.oneof(headerShaped, hostileBytes(seeds(), 200)), (d) => {
      const type = messageType(d);
      if (type === MSG_INITIATION) {
        const m = decodeInitiation(d);
        return !!m && encodeInitiation(m).equals(withZeroMacs(d, INITIATION.mac1));
      }
      if (type === MSG_RESPONSE) {
        const m = decodeResponse(d);
        return !!m && encodeResponse(m).equals(withZeroMacs(d, RESPONSE.mac1));
      }
      if (type === MSG_COOKIE_REPLY) {
        const m = decodeCookieReply(d);
        return !!m && encodeCookieReply(m).equals(d);
      }
      return true;
    }),
    { numRuns: 2000 },
  );
  checkProperty(
    t,
    'encode then decode gives the same fields',
    fc.property(initiation, response, cookieReply, (i, r, c) => {
      const di = decodeInitiation(encodeInitiation(i));
      const dr = decodeResponse(encodeResponse(r));
      const dc = decodeCookieReply(encodeCookieReply(c));
      if (!di || !dr || !dc) return false;
      return (
        messageType(encodeInitiation(i)) === MSG_INITIATION &&
        di.sender === i.sender && di.ephemeral.equals(i.ephemeral) && di.encryptedStatic.equals(i.encryptedStatic) && di.encryptedTimestamp.equals(i.encryptedTimestamp) &&
        dr.sender === r.sender && dr.receiver === r.receiver && dr.ephemeral.equals(r.ephemeral) && dr.encryptedNothing.equals(r.encryptedNothing) &&
        dc.receiver === c.receiver && dc.nonce.equals(c.nonce) && dc.encryptedCookie.equals(c.encryptedCookie)
      );
    }),
    { numRuns: 300 },
  );
});

function withZeroMacs(d: Buffer, mac1: number): Buffer {
  const out = Buffer.from(d);
  out.fill(0, mac1);
  return out;
}
