// Signalling message validation: what each side accepts, and the stable error code for the rest.
import t from 'tap';
import {
  MAX_BLOB_BYTES,
  base64DecodedLength,
  encodeMessage,
  parseClientMessage,
  parseServerMessage,
  type ClientMessage,
  type ServerMessage,
} from '../signal/index.js';

const ROOM = 'a'.repeat(64);
const blob = (n: number) => Buffer.alloc(n, 7).toString('base64');
const KEY = Buffer.alloc(32, 1).toString('base64url');
const PROOF = Buffer.alloc(64, 2).toString('base64url');
const NONCE = Buffer.alloc(32, 3).toString('base64url');

t.test('every client message type round-trips', async (t) => {
  const valid: ClientMessage[] = [
    { type: 'hello', v: 2 },
    { type: 'hello', v: 2, token: 's3cret', ref: 'r1' },
    { type: 'join', room: ROOM, announce: blob(32), key: KEY, proof: PROOF },
    { type: 'join', room: ROOM, announce: '', key: KEY, proof: PROOF },
    { type: 'leave', room: ROOM, ref: 'x' },
    { type: 'update', room: ROOM, announce: blob(MAX_BLOB_BYTES) },
    { type: 'send', room: ROOM, to: 'V1StGXR8_Z5jdHi6B-myT', data: blob(100) },
    { type: 'ping' },
  ];
  for (const m of valid) {
    const parsed = parseClientMessage(encodeMessage(m));
    t.strictSame(parsed, { ok: true, message: m }, m.type);
  }
});

t.test('malformed client frames get their stable error code', async (t) => {
  const cases: [string, string, string][] = [
    ['not json', '{"type":', 'BAD_JSON'],
    ['array', '[1,2]', 'BAD_JSON'],
    ['null', 'null', 'BAD_JSON'],
    ['string', '"hello"', 'BAD_JSON'],
    ['no type', '{}', 'BAD_FIELD'],
    ['numeric type', '{"type":1}', 'BAD_FIELD'],
    ['unknown type', '{"type":"teleport"}', 'UNKNOWN_TYPE'],
    ['inherited name as type', '{"type":"constructor"}', 'UNKNOWN_TYPE'],
    ['version as string', '{"type":"hello","v":"1"}', 'BAD_FIELD'],
    ['fractional version', '{"type":"hello","v":1.5}', 'BAD_FIELD'],
    ['empty token', '{"type":"hello","v":2,"token":""}', 'BAD_FIELD'],
    ['room too short', `{"type":"join","room":"abc","announce":""}`, 'BAD_FIELD'],
    ['room upper case', `{"type":"join","room":"${'A'.repeat(64)}","announce":""}`, 'BAD_FIELD'],
    ['room as number', `{"type":"leave","room":5}`, 'BAD_FIELD'],
    ['announce not base64', `{"type":"join","room":"${ROOM}","announce":"***"}`, 'BAD_FIELD'],
    ['announce unpadded', `{"type":"join","room":"${ROOM}","announce":"abc"}`, 'BAD_FIELD'],
    ['announce missing', `{"type":"update","room":"${ROOM}"}`, 'BAD_FIELD'],
    ['announce too large', `{"type":"join","room":"${ROOM}","announce":"${blob(MAX_BLOB_BYTES + 1)}"}`, 'TOO_LARGE'],
    ['data too large', `{"type":"send","room":"${ROOM}","to":"abc","data":"${blob(5000)}"}`, 'TOO_LARGE'],
    ['to with a slash', `{"type":"send","room":"${ROOM}","to":"a/b","data":""}`, 'BAD_FIELD'],
    ['extra field', '{"type":"ping","x":1}', 'BAD_FIELD'],
    ['__proto__ key', '{"type":"ping","__proto__":{"polluted":true}}', 'BAD_FIELD'],
    ['constructor key', '{"type":"ping","constructor":{"prototype":{"polluted":true}}}', 'BAD_FIELD'],
    ['bad ref', '{"type":"ping","ref":""}', 'BAD_FIELD'],
  ];
  for (const [name, text, code] of cases) {
    const r = parseClientMessage(text);
    t.equal(r.ok ? 'ok' : r.code, code, name);
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
});

t.test('errors carry the ref of the failing request', async (t) => {
  const r = parseClientMessage('{"type":"leave","room":"nope","ref":"req-7"}');
  t.same(r, { ok: false, code: 'BAD_FIELD', message: 'room must be 64 lowercase hex characters', ref: 'req-7' });
});

t.test('parsed messages are fresh objects, not the JSON.parse output', async (t) => {
  const r = parseClientMessage(`{"type":"join","room":"${ROOM}","announce":"","key":"${KEY}","proof":"${PROOF}"}`);
  if (!r.ok) throw new Error('should parse');
  t.equal(Object.getPrototypeOf(r.message), Object.prototype);
  t.same(Object.keys(r.message).sort(), ['announce', 'key', 'proof', 'room', 'type']);
});

t.test('base64 size accounting', async (t) => {
  t.equal(base64DecodedLength(''), 0);
  t.equal(base64DecodedLength('AA=='), 1);
  t.equal(base64DecodedLength('AAA='), 2);
  t.equal(base64DecodedLength('AAAA'), 3);
  t.equal(base64DecodedLength('A==A'), -1);
  t.equal(base64DecodedLength(blob(MAX_BLOB_BYTES)), MAX_BLOB_BYTES);
  // A padding-free string of the maximum length decodes to more than the limit.
  t.equal(parseClientMessage(`{"type":"join","room":"${ROOM}","announce":"${'A'.repeat(5464)}"}`).ok, false);
});

t.test('server messages parse on the agent side', async (t) => {
  const valid: ServerMessage[] = [
    { type: 'welcome', v: 2, serverId: 'srv1', id: 'me', nonce: NONCE, yourAddress: '203.0.113.5:4000' },
    {
      type: 'welcome',
      v: 2,
      serverId: 'srv1',
      id: 'me',
      nonce: NONCE,
      yourAddress: '203.0.113.5:4000',
      stunPort: 3478,
      relayPort: 3480,
      relayToken: Buffer.alloc(32, 0xfb).toString('base64url'),
      wsRelay: true,
    },
    { type: 'welcome', v: 2, serverId: 'srv1', id: 'me', nonce: NONCE, wsRelay: false, ref: 'h' },
    { type: 'members', room: ROOM, members: [{ id: 'a', announce: blob(3) }], ref: 'j1' },
    { type: 'member-joined', room: ROOM, id: 'b', announce: blob(9) },
    { type: 'member-left', room: ROOM, id: 'b' },
    { type: 'member-update', room: ROOM, id: 'b', announce: '' },
    { type: 'message', room: ROOM, from: 'b', data: blob(1) },
    { type: 'pong', ref: 'p' },
    { type: 'error', code: 'ROOM_FULL', message: 'room is full' },
    { type: 'error', code: 'NO_SUCH_MEMBER', message: 'not reachable', member: 'b-1' },
  ];
  for (const m of valid) t.strictSame(parseServerMessage(encodeMessage(m)), { ok: true, message: m }, m.type);

  const extra = parseServerMessage('{"type":"pong","future":1}');
  t.strictSame(extra, { ok: true, message: { type: 'pong' } }, 'unknown fields from newer servers are dropped');
  t.equal(parseServerMessage('{"type":"members","room":"' + ROOM + '","members":[{"id":"x"}]}').ok, false);
  t.equal(parseServerMessage('{"type":"error","code":"lower","message":""}').ok, false);
  t.equal(parseServerMessage('{"type":"error","code":"NO_SUCH_MEMBER","message":"","member":"a/b"}').ok, false, 'a member field must be a member id');
  t.equal(parseServerMessage('{"type":"error","code":"NO_SUCH_MEMBER","message":"","member":7}').ok, false);
  t.equal(parseServerMessage('{"type":"message","room":"' + ROOM + '","from":"x","data":5}').ok, false);
  t.equal(parseServerMessage('{"type":"hello","v":2}').ok, false, 'client types are not server types');
  t.equal(parseServerMessage('[').ok, false);
});

t.test('welcome: STUN port, relay port, relay token and WebSocket relay are checked', async (t) => {
  const welcome = (extra: Record<string, unknown>) => parseServerMessage(JSON.stringify({ type: 'welcome', v: 2, serverId: 'srv1', id: 'me', nonce: NONCE, ...extra }));
  const token = Buffer.alloc(32, 7).toString('base64url');
  t.equal(token.length, 43);
  t.ok(welcome({ stunPort: 1, relayPort: 65535, relayToken: token, wsRelay: false }).ok, 'edge values');
  const bad: [string, Record<string, unknown>][] = [
    ['stunPort 0', { stunPort: 0 }],
    ['stunPort too big', { stunPort: 65536 }],
    ['stunPort as text', { stunPort: '3478' }],
    ['relayPort fractional', { relayPort: 3480.5 }],
    ['relayPort negative', { relayPort: -1 }],
    ['relayPort null', { relayPort: null }],
    ['relayToken of 31 bytes', { relayToken: Buffer.alloc(31).toString('base64url') }],
    ['relayToken of 33 bytes', { relayToken: Buffer.alloc(33).toString('base64url') }],
    ['relayToken in base64 with padding', { relayToken: `${Buffer.alloc(32, 0xff).toString('base64')}` }],
    ['relayToken as bytes', { relayToken: [1, 2, 3] }],
    ['wsRelay as text', { wsRelay: 'true' }],
    ['wsRelay as number', { wsRelay: 1 }],
    ['no nonce', { nonce: undefined }],
    ['nonce of 16 bytes', { nonce: Buffer.alloc(16).toString('base64url') }],
  ];
  for (const [name, extra] of bad) {
    const r = welcome(extra);
    t.equal(r.ok, false, name);
    if (!r.ok) t.equal(r.code, 'BAD_FIELD', `${name}: BAD_FIELD`);
  }
  const parsed = welcome({ relayPort: 3480, relayToken: token, future: 'x' });
  t.test('a join without the room key and proof (a version 1 agent) is refused', async (t) => {
    const r = parseClientMessage(JSON.stringify({ type: 'join', room: ROOM, announce: '' }));
    t.same(r.ok ? 'ok' : r.code, 'BAD_FIELD');
    const short = parseClientMessage(JSON.stringify({ type: 'join', room: ROOM, announce: '', key: KEY, proof: KEY }));
    t.same(short.ok ? 'ok' : short.code, 'BAD_FIELD', 'a proof must be 64 bytes');
  });
  t.strictSame(parsed, { ok: true, message: { type: 'welcome', v: 2, serverId: 'srv1', id: 'me', nonce: NONCE, relayPort: 3480, relayToken: token } }, 'absent fields stay absent');
});
