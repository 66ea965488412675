// STUN codec edges: demultiplexing, malformed input, address handling, attribute values.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  BINDING_ERROR,
  BINDING_INDICATION,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  CLASS_ERROR,
  CLASS_INDICATION,
  CLASS_REQUEST,
  CLASS_SUCCESS,
  METHOD_BINDING,
  ATTR_ERROR_CODE,
  ATTR_MAPPED_ADDRESS,
  ATTR_UNKNOWN_ATTRIBUTES,
  decodeAddress,
  decodeChangeRequest,
  decodeErrorCode,
  decodeStunMessage,
  decodeUnknownAttributes,
  decodeXorAddress,
  encodeAddress,
  encodeChangeRequest,
  encodeErrorCode,
  encodeStunMessage,
  encodeUnknownAttributes,
  encodeXorAddress,
  formatIp,
  isStunMessage,
  messageClass,
  messageMethod,
  messageType,
  parseBindingResponse,
  parseIp,
  stunBindingRequest,
  unmapIpv4,
} from '../stun/index.js';

t.test('message type interleaving', async (t) => {
  for (const [cls, type] of [
    [CLASS_REQUEST, BINDING_REQUEST],
    [CLASS_INDICATION, BINDING_INDICATION],
    [CLASS_SUCCESS, BINDING_SUCCESS],
    [CLASS_ERROR, BINDING_ERROR],
  ] as const) {
    t.equal(messageType(METHOD_BINDING, cls), type);
    t.equal(messageMethod(type), METHOD_BINDING);
    t.equal(messageClass(type), cls);
  }
  t.equal(messageType(0x003, CLASS_SUCCESS), 0x0103, 'TURN Allocate success, a method above 1');
  t.equal(messageMethod(0x0113), 0x003);
});

t.test('isStunMessage tells STUN from WireGuard and junk', async (t) => {
  const req = stunBindingRequest().packet;
  t.ok(isStunMessage(req));
  const wgInitiation = Buffer.alloc(148);
  wgInitiation[0] = 1;
  t.notOk(isStunMessage(wgInitiation), 'WireGuard handshake initiation');
  const wgData = Buffer.alloc(32);
  wgData[0] = 4;
  t.notOk(isStunMessage(wgData), 'WireGuard transport data');
  t.notOk(isStunMessage(req.subarray(0, 19)), 'shorter than a header');
  t.notOk(isStunMessage(Buffer.concat([req, Buffer.alloc(4)])), 'length field disagrees with the datagram');
  const badCookie = Buffer.from(req);
  badCookie[5] ^= 1;
  t.notOk(isStunMessage(badCookie), 'wrong magic cookie');
  const topBits = Buffer.from(req);
  topBits[0] |= 0x80;
  t.notOk(isStunMessage(topBits), 'top bits set (e.g. RTP/ChannelData)');
  const oddLength = Buffer.from(req.subarray(0, 22));
  oddLength.writeUInt16BE(2, 2);
  t.notOk(isStunMessage(oddLength), 'length not a multiple of 4');
});

t.test('decoder refuses malformed attribute layouts without throwing', async (t) => {
  const base = encodeStunMessage({
    type: BINDING_REQUEST,
    transactionId: randomBytes(12),
    attributes: [{ type: 0x8022, value: Buffer.from('abcd') }],
  });
  t.ok(decodeStunMessage(base));
  const overrun = Buffer.from(base);
  overrun.writeUInt16BE(40, 22); // attribute claims more than the message holds
  t.equal(decodeStunMessage(overrun), undefined);
  const afterFingerprint = encodeStunMessage(
    { type: BINDING_REQUEST, transactionId: randomBytes(12), attributes: [] },
    { fingerprint: true },
  );
  const extended = Buffer.concat([afterFingerprint, Buffer.from([0x80, 0x22, 0, 0])]);
  extended.writeUInt16BE(extended.length - 20, 2);
  t.equal(decodeStunMessage(extended), undefined, 'nothing may follow FINGERPRINT');
  const shortIntegrity = Buffer.concat([base.subarray(0, 20), Buffer.from([0, 8, 0, 4, 1, 2, 3, 4])]);
  shortIntegrity.writeUInt16BE(8, 2);
  t.equal(decodeStunMessage(shortIntegrity), undefined, 'MESSAGE-INTEGRITY must be 20 bytes');
});

t.test('random and mutated datagrams never throw', async (t) => {
  const seed = stunBindingRequest({ software: 'x', changePort: true }).packet;
  let decoded = 0;
  for (let i = 0; i < 20000; i++) {
    let buf: Buffer;
    if (i % 2) {
      buf = randomBytes(i % 97);
    } else {
      buf = Buffer.from(seed);
      for (let k = 0; k < 3; k++) buf[Math.floor(Math.random() * buf.length)] = Math.floor(Math.random() * 256);
    }
    if (decodeStunMessage(buf)) decoded++;
    parseBindingResponse(buf);
  }
  t.ok(decoded > 0, `some mutants still decode (${decoded}), the rest are refused quietly`);
});

t.test('IP text <-> bytes', async (t) => {
  t.same(Array.from(parseIp('203.0.113.7')!.bytes), [203, 0, 113, 7]);
  for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', 'a.b.c.d', '1::2::3', ':::', '1:2:3:4:5:6:7:8:9', 'g::1', '', '1.2.3.4::', '1.2.3.4::1', '::1.2.3.4:1', 'fe80::1%eth0', '::1%', '%eth0']) {
    t.equal(parseIp(bad), undefined, `refuses ${JSON.stringify(bad)}`);
  }
  for (const [input, canonical] of [
    ['2001:db8:1234:5678:11:2233:4455:6677', '2001:db8:1234:5678:11:2233:4455:6677'],
    ['2001:0db8:0:0:0:0:0:1', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['::1.2.3.4', '::102:304'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
  ]) {
    t.equal(formatIp(parseIp(input!)!.bytes), canonical);
  }
  t.equal(unmapIpv4('::ffff:198.51.100.9'), '198.51.100.9');
  t.equal(unmapIpv4('2001:db8::9'), '2001:db8::9');
});

t.test('address attributes round-trip, plain and XORed', async (t) => {
  const txid = randomBytes(12);
  for (const addr of [
    { family: 'IPv4', address: '198.51.100.20', port: 1 },
    { family: 'IPv4', address: '0.0.0.0', port: 65535 },
    { family: 'IPv6', address: '2001:db8::42', port: 3478 },
  ] as const) {
    t.same(decodeAddress(encodeAddress(addr)), addr);
    t.same(decodeXorAddress(encodeXorAddress(addr, txid), txid), addr);
    t.notSame(Buffer.from(encodeXorAddress(addr, txid)), Buffer.from(encodeAddress(addr)), 'XOR hides the address');
  }
  t.equal(decodeAddress(Buffer.from([0, 1, 0, 1, 1, 2, 3])), undefined, 'IPv4 family, wrong length');
  t.equal(decodeAddress(Buffer.from([0, 3, 0, 1, 1, 2, 3, 4])), undefined, 'unknown family');
  t.throws(() => encodeAddress({ family: 'IPv4', address: '2001:db8::1', port: 1 }));
});

t.test('ERROR-CODE, CHANGE-REQUEST, UNKNOWN-ATTRIBUTES values', async (t) => {
  t.same(decodeErrorCode(encodeErrorCode({ code: 420, reason: 'Unknown Attribute' })), {
    code: 420,
    reason: 'Unknown Attribute',
  });
  t.equal(decodeErrorCode(Buffer.from([0, 0, 2, 0])), undefined, 'class 2 is not an error');
  t.same(decodeChangeRequest(encodeChangeRequest({ changeIp: true, changePort: false })), {
    changeIp: true,
    changePort: false,
  });
  t.same(decodeChangeRequest(encodeChangeRequest({ changeIp: false, changePort: true })), {
    changeIp: false,
    changePort: true,
  });
  t.equal(decodeChangeRequest(Buffer.alloc(3)), undefined);
  t.same(decodeUnknownAttributes(encodeUnknownAttributes([3, 0x7fff])), [3, 0x7fff]);
  t.equal(decodeUnknownAttributes(Buffer.alloc(3)), undefined);
});

t.test('binding request and response helpers', async (t) => {
  const req = stunBindingRequest({ changePort: true, software: 'wgp2p test' });
  const msg = decodeStunMessage(req.packet);
  t.equal(msg?.type, BINDING_REQUEST);
  t.equal(msg?.fingerprint, 'valid');
  t.same(Buffer.from(msg!.transactionId), Buffer.from(req.transactionId));

  const mapped = { family: 'IPv4', address: '203.0.113.9', port: 40000 } as const;
  const oldStyle = encodeStunMessage({
    type: BINDING_SUCCESS,
    transactionId: req.transactionId,
    attributes: [{ type: ATTR_MAPPED_ADDRESS, value: encodeAddress(mapped) }],
  });
  const parsed = parseBindingResponse(oldStyle, req.transactionId);
  t.same(parsed?.kind === 'success' && parsed.mapped, mapped, 'MAPPED-ADDRESS from old servers');
  t.equal(parseBindingResponse(oldStyle, randomBytes(12)), undefined, 'another transaction is ignored');

  const error = encodeStunMessage({
    type: BINDING_ERROR,
    transactionId: req.transactionId,
    attributes: [
      { type: ATTR_ERROR_CODE, value: encodeErrorCode({ code: 420, reason: 'Unknown Attribute' }) },
      { type: ATTR_UNKNOWN_ATTRIBUTES, value: encodeUnknownAttributes([3]) },
    ],
  });
  t.same(parseBindingResponse(error), {
    kind: 'error',
    transactionId: Uint8Array.from(req.transactionId),
    code: 420,
    reason: 'Unknown Attribute',
    unknownAttributes: [3],
  });
  const noAddress = encodeStunMessage({ type: BINDING_SUCCESS, transactionId: req.transactionId, attributes: [] });
  t.equal(parseBindingResponse(noAddress), undefined, 'a success without an address is useless');
});
