// Property tests of the signalling frame parsers (agent → server and server → agent): they never
// throw, never let "__proto__" or "constructor" reach an object's prototype, accept the frames
// the protocol allows, and whatever they accept serialises back to a frame they accept unchanged.
import t from 'tap';
import fc from 'fast-check';
import { checkProperty } from '../../fuzz/check.js';
import { hostileText } from '../../fuzz/mutate.js';
import { parseClientMessage, parseServerMessage } from '../signal/index.js';
import { ERROR_CODES, type ParseResult } from '../signal/protocol.js';

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const memberId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const ref = fc.option(fc.stringMatching(/^[\x21-\x7e]{1,64}$/), { nil: undefined });
const blob = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64'));
const version = fc.integer({ min: 1, max: 0xffff });
/** Where the server sees a member (an IP literal; older servers leave it out). */
const seen = fc.oneof(fc.ipV4(), fc.ipV6());
/** base64url without padding of `n` random bytes, as keys, proofs and nonces travel. */
const b64url = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('base64url'));
/** JSON with keys sorted at every depth: the parser need not keep the sender's key order. */
const canonical = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
const withRef = <T extends object>(o: T, r: string | undefined) => (r === undefined ? o : { ...o, ref: r });

const clientFrame = fc.oneof(
  fc.tuple(version, fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: undefined }), ref).map(([v, token, r]) => withRef(token === undefined ? { type: 'hello', v } : { type: 'hello', v, token }, r)),
  fc.tuple(hex64, blob, b64url(32), b64url(64), ref).map(([room, announce, key, proof, r]) => withRef({ type: 'join', room, announce, key, proof }, r)),
  fc.tuple(hex64, blob, ref).map(([room, announce, r]) => withRef({ type: 'update', room, announce }, r)),
  fc.tuple(hex64, ref).map(([room, r]) => withRef({ type: 'leave', room }, r)),
  fc.tuple(hex64, memberId, blob, ref).map(([room, to, data, r]) => withRef({ type: 'send', room, to, data }, r)),
  ref.map((r) => withRef({ type: 'ping' }, r)),
);

const serverFrame = fc.oneof(
  fc.record({ type: fc.constant('welcome'), v: version, serverId: memberId, id: memberId, yourAddress: fc.string({ maxLength: 30 }), stunPort: fc.integer({ min: 1, max: 65535 }), relayToken: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), wsRelay: fc.boolean(), nonce: b64url(32) }, { requiredKeys: ['type', 'v', 'serverId', 'id', 'nonce'] }),
  fc.record({ type: fc.constant('members'), room: hex64, members: fc.array(fc.record({ id: memberId, announce: blob, seen }, { requiredKeys: ['id', 'announce'] }), { maxLength: 3 }) }),
  fc.record({ type: fc.constantFrom('member-joined', 'member-update'), room: hex64, id: memberId, announce: blob, seen }, { requiredKeys: ['type', 'room', 'id', 'announce'] }),
  fc.record({ type: fc.constant('member-left'), room: hex64, id: memberId }),
  fc.record({ type: fc.constant('message'), room: hex64, from: memberId, data: blob }),
  fc.record({ type: fc.constant('pong') }),
  fc.record({ type: fc.constant('error'), code: fc.constantFrom(...ERROR_CODES), message: fc.string({ maxLength: 40 }), member: memberId }, { requiredKeys: ['type', 'code', 'message'] }),
);

/** Keys that would reach a prototype if a parser copied objects carelessly. */
const poison = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');
const jsonValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({ polluted: true }));

/** A valid frame's text with one hostile key spliced in (JSON.stringify would not write "__proto__" as data). */
function withKey(frame: object, key: string, value: unknown): string {
  return `{${JSON.stringify(key)}:${JSON.stringify(value)},${JSON.stringify(frame).slice(1)}`;
}

/** Frames: valid, valid plus a hostile key, a valid one with a field replaced by any JSON, and mutated text. */
function frames(valid: fc.Arbitrary<object>): fc.Arbitrary<string> {
  const seeds = fc.sample(valid, { numRuns: 20, seed: 42 }).map((f) => JSON.stringify(f));
  return fc.oneof(
    valid.map((f) => JSON.stringify(f)),
    fc.tuple(valid, poison, jsonValue).map(([f, k, v]) => withKey(f, k, v)),
    fc.tuple(valid, fc.nat(), jsonValue).map(([f, i, v]) => {
      const keys = Object.keys(f);
      return JSON.stringify({ ...f, [keys[i % keys.length]!]: v });
    }),
    hostileText(seeds),
    fc.json({ maxDepth: 3 }),
  );
}

const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).sort().join();

function wellFormed(r: ParseResult<object>): boolean {
  if (r.ok) {
    const m = r.message as Record<string, unknown>;
    // A clean object: plain prototype, no inherited-name keys of its own.
    return Object.getPrototypeOf(m) === Object.prototype && !Object.hasOwn(m, '__proto__') && !Object.hasOwn(m, 'constructor');
  }
  return typeof r.message === 'string' && (ERROR_CODES as readonly string[]).includes(r.code);
}

for (const [name, parse, valid] of [
  ['parseClientMessage', parseClientMessage, clientFrame],
  ['parseServerMessage', parseServerMessage, serverFrame],
] as const) {
  t.test(name, async (t) => {
    const before = protoKeys();
    checkProperty(
      t,
      'valid frames are accepted as sent',
      fc.property(valid, (f) => {
        const r = parse(JSON.stringify(f));
        return r.ok && canonical(r.message) === canonical(f);
      }),
      { numRuns: 300 },
    );
    checkProperty(
      t,
      'never throws, results are well-formed, nothing is polluted, accepted frames round-trip',
      fc.property(frames(valid), (text) => {
        const r = (parse as (s: string) => ParseResult<object>)(text);
        if (!wellFormed(r) || ({} as Record<string, unknown>).polluted !== undefined) return false;
        if (!r.ok) return true;
        const again = (parse as (s: string) => ParseResult<object>)(JSON.stringify(r.message));
        return again.ok && JSON.stringify(again.message) === JSON.stringify(r.message);
      }),
      { numRuns: 1500 },
    );
    t.equal(protoKeys(), before, 'Object.prototype unchanged');
  });
}

t.test('the agent → server parser refuses any key a message does not have', async (t) => {
  checkProperty(
    t,
    'extra keys are BAD_FIELD',
    fc.property(clientFrame, fc.oneof(poison, fc.stringMatching(/^[a-z]{1,8}$/)), jsonValue, (f, k, v) => {
      if (Object.hasOwn(f, k)) return true;
      const r = parseClientMessage(withKey(f, k, v));
      return !r.ok && r.code === 'BAD_FIELD';
    }),
    { numRuns: 500 },
  );
});
