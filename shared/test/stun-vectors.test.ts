// RFC 5769 test vectors (all four): decode, check MESSAGE-INTEGRITY and FINGERPRINT, re-encode
// byte for byte.
import t from 'tap';
import {
  ATTR_FINGERPRINT,
  ATTR_MESSAGE_INTEGRITY,
  ATTR_NONCE,
  ATTR_REALM,
  ATTR_SOFTWARE,
  ATTR_USERNAME,
  ATTR_XOR_MAPPED_ADDRESS,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  crc32,
  decodeStunMessage,
  decodeText,
  decodeXorAddress,
  encodeStunMessage,
  encodeText,
  encodeXorAddress,
  getAttribute,
  longTermKey,
  parseBindingResponse,
  shortTermKey,
  verifyMessageIntegrity,
} from '../stun/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';

// RFC 5769 section 2.1: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME (padded with spaces),
// MESSAGE-INTEGRITY, FINGERPRINT.
const REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);

// Section 2.2: XOR-MAPPED-ADDRESS 192.0.2.1:32853.
const RESPONSE_V4 = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);

// Section 2.3: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const RESPONSE_V6 = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);

// Section 2.4: long-term credentials; USERNAME is "マトリックス", padding bytes are zero, and
// there is no FINGERPRINT. The password "The<U+00AD>M<U+00AA>tr<U+2168>" is "TheMatrIX" after SASLprep.
const REQUEST_LONG_TERM = hex(`
  00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
  00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
  00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
  00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
  00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`);

const key = shortTermKey(PASSWORD);

t.test('crc32 matches the published check value', async (t) => {
  t.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

t.test('2.1 sample request decodes, checks and re-encodes', async (t) => {
  const msg = decodeStunMessage(REQUEST);
  if (!msg) throw new Error('request did not decode');
  t.equal(msg.type, BINDING_REQUEST);
  t.equal(Buffer.from(msg.transactionId).toString('hex'), 'b7e7a701bc34d686fa87dfae');
  t.equal(decodeText(getAttribute(msg, ATTR_SOFTWARE)!), 'STUN test client');
  t.equal(decodeText(getAttribute(msg, ATTR_USERNAME)!), 'evtj:h6vY');
  t.equal(msg.fingerprint, 'valid');
  t.ok(verifyMessageIntegrity(msg, key), 'integrity checks with the RFC password');
  t.notOk(verifyMessageIntegrity(msg, shortTermKey('wrong password')), 'and not with another');

  const plain = msg.attributes.filter((a) => a.type !== ATTR_MESSAGE_INTEGRITY && a.type !== ATTR_FINGERPRINT);
  const again = encodeStunMessage(
    { type: msg.type, transactionId: msg.transactionId, attributes: plain },
    { integrityKey: key, fingerprint: true, padByte: 0x20 },
  );
  t.equal(again.toString('hex'), REQUEST.toString('hex'), 'byte-identical re-encoding');
});

for (const [name, vector, address, family] of [
  ['2.2 IPv4', RESPONSE_V4, '192.0.2.1', 'IPv4'],
  ['2.3 IPv6', RESPONSE_V6, '2001:db8:1234:5678:11:2233:4455:6677', 'IPv6'],
] as const) {
  t.test(`${name} sample response decodes, checks and is rebuilt from its values`, async (t) => {
    const msg = decodeStunMessage(vector);
    if (!msg) throw new Error('response did not decode');
    t.equal(msg.type, BINDING_SUCCESS);
    t.equal(msg.fingerprint, 'valid');
    t.ok(verifyMessageIntegrity(msg, key));
    const mapped = decodeXorAddress(getAttribute(msg, ATTR_XOR_MAPPED_ADDRESS)!, msg.transactionId);
    t.same(mapped, { family, address, port: 32853 });
    t.equal(decodeText(getAttribute(msg, ATTR_SOFTWARE)!), 'test vector');

    const parsed = parseBindingResponse(vector, msg.transactionId);
    t.same(parsed && parsed.kind === 'success' && parsed.mapped, { family, address, port: 32853 });

    // Built from scratch: the values alone, then integrity and fingerprint computed by us.
    const built = encodeStunMessage(
      {
        type: BINDING_SUCCESS,
        transactionId: msg.transactionId,
        attributes: [
          { type: ATTR_SOFTWARE, value: encodeText('test vector') },
          { type: ATTR_XOR_MAPPED_ADDRESS, value: encodeXorAddress({ family, address, port: 32853 }, msg.transactionId) },
        ],
      },
      { integrityKey: key, fingerprint: true, padByte: 0x20 },
    );
    t.equal(built.toString('hex'), vector.toString('hex'));
  });
}

t.test('2.4 long-term credential request decodes, checks and re-encodes', async (t) => {
  const msg = decodeStunMessage(REQUEST_LONG_TERM);
  if (!msg) throw new Error('request did not decode');
  t.equal(msg.type, BINDING_REQUEST);
  t.equal(msg.fingerprint, 'absent');
  const username = decodeText(getAttribute(msg, ATTR_USERNAME)!);
  t.equal(username, '\u30de\u30c8\u30ea\u30c3\u30af\u30b9');
  t.equal(decodeText(getAttribute(msg, ATTR_NONCE)!), 'f//499k954d6OL34oL9FSTvy64sA');
  t.equal(decodeText(getAttribute(msg, ATTR_REALM)!), 'example.org');
  const longKey = longTermKey(username, 'example.org', 'TheMatrIX');
  t.ok(verifyMessageIntegrity(msg, longKey), 'integrity checks with the long-term key');
  t.notOk(verifyMessageIntegrity(msg, longTermKey(username, 'example.org', 'thematrix')), 'and not with a wrong password');

  const plain = msg.attributes.filter((a) => a.type !== ATTR_MESSAGE_INTEGRITY);
  const again = encodeStunMessage({ type: msg.type, transactionId: msg.transactionId, attributes: plain }, { integrityKey: longKey });
  t.equal(again.toString('hex'), REQUEST_LONG_TERM.toString('hex'), 'byte-identical re-encoding');
});

t.test('a changed byte breaks FINGERPRINT and MESSAGE-INTEGRITY', async (t) => {
  const bent = Buffer.from(REQUEST);
  bent[30]! ^= 0x01; // inside SOFTWARE
  const msg = decodeStunMessage(bent);
  if (!msg) throw new Error('still well-formed');
  t.equal(msg.fingerprint, 'invalid');
  t.notOk(verifyMessageIntegrity(msg, key));
  t.equal(parseBindingResponse(Buffer.from(RESPONSE_V4).fill(0x41, 24, 25)), undefined, 'responses with a bad fingerprint are refused');
});
