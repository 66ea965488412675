// Property tests of sealed announcements and peer messages: random and mutated blobs, and sealed
// blobs with arbitrary contents, are refused with a named reason and never throw; valid ones open.
import t from 'tap';
import fc from 'fast-check';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { checkProperty } from '../../fuzz/check.js';
import { mutatedFrom } from '../../fuzz/mutate.js';
import { deriveRoom, openForRoom, sealForRoom } from '../../shared/signal/room-key.js';
import { makeEndpoint } from '../../shared/net/address.js';
import { AnnouncementGuard, openAnnouncement, sealAnnouncement, type AnnouncementBody } from '../join/room/announcement.js';
import { PeerMessageGuard, sealBye, sealPunchRequest } from '../join/room/peer-message.js';

/** The pair message key of the two members in these tests. */
const PK = randomBytes(32);

const room = deriveRoom('fuzz', 'property tests');
const NOW = Date.UTC(2026, 5, 1);
const { privateKey, publicKey } = generateKeyPairSync('x25519');
const priv = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
const body: AnnouncementBody = {
  publicKey: pub,
  memberId: 'm1',
  name: 'laptop',
  address: '10.77.0.2',
  candidates: [{ kind: 'public', endpoint: makeEndpoint('198.51.100.7', 51820) }],
  nat: { mapping: 'endpoint-independent', filtering: 'port-dependent' },
};
const announcement = sealAnnouncement(room, body, priv, NOW);
const punch = sealPunchRequest(room, { publicKey: pub, from: 'm1', to: 'm2', session: 's1', candidates: body.candidates, startInMs: 500 }, PK, NOW);
const bye = sealBye(room, { publicKey: pub, from: 'm1', to: 'm2' }, PK, NOW);

const ANNOUNCE_REASONS = ['does_not_verify', 'malformed', 'version', 'bad_signature', 'wrong_member_id', 'own_key', 'from_future', 'stale', 'replayed'];
const MESSAGE_REASONS = ['does_not_verify', 'malformed', 'version', 'unknown_kind', 'wrong_member_id', 'stale', 'replayed', 'bad_mac'];
const payloadOf = (purpose: 'announce' | 'message', blob: string) => Buffer.from(openForRoom(room, purpose, blob)!.payload);

/** Blobs an attacker without the room key can send: noise, mutated real blobs as text and bytes. */
const unsealed = (blobs: string[]) =>
  fc.oneof(
    fc.string({ maxLength: 120 }),
    mutatedFrom(blobs.map((b) => Buffer.from(b, 'base64')), 4).map((b) => b.toString('base64')),
    mutatedFrom(blobs.map((b) => Buffer.from(b)), 4).map((b) => b.toString('latin1')),
  );

/** What a room member (or a bug in one) could seal: mutated real payloads and arbitrary JSON. */
const sealed = (purpose: 'announce' | 'message', blobs: string[]) =>
  fc
    .oneof(
      mutatedFrom(blobs.map((b) => payloadOf(purpose, b)), 4),
      fc.json({ maxDepth: 3 }).map((s) => Buffer.from(s)),
      fc.dictionary(fc.constantFrom('v', 'k', 'm', 'n', 'a', 'c', 'nat', 'b', 'h', 't', 's', 'f', 'to', 'd', '__proto__'), fc.jsonValue({ maxDepth: 2 })).map((o) => Buffer.from(JSON.stringify(o))),
    )
    .map((p) => sealForRoom(room, purpose, p, NOW));

const opened = openAnnouncement(room, announcement);
const original = opened.ok ? opened.value : undefined;
const sameAnnouncement = (a: unknown, b: unknown) => JSON.stringify(a, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v)) === JSON.stringify(b, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v));

t.test('announcements', async (t) => {
  const guard = new AnnouncementGuard(room, Buffer.alloc(32));
  t.ok(guard.check('m1', announcement, NOW).ok, 'a valid one is accepted');
  checkProperty(
    t,
    'random, mutated and arbitrarily sealed blobs are refused with a reason',
    fc.property(fc.oneof(unsealed([announcement]), sealed('announce', [announcement])), (blob) => {
      const r = openAnnouncement(room, blob);
      const g = guard.check('m1', blob, NOW);
      // The signature covers what the payload says (JSON.parse keeps the last of duplicate keys):
      // anything accepted must say exactly what the signed original says.
      if (r.ok || g.ok) return r.ok && sameAnnouncement(r.value, original);
      return ANNOUNCE_REASONS.includes(r.reason) && ANNOUNCE_REASONS.includes(g.reason);
    }),
    { numRuns: 400 },
  );
});

t.test('peer messages', async (t) => {
  const guard = new PeerMessageGuard(room, () => PK);
  t.ok(guard.check('m1', 'm2', punch, NOW).ok && guard.check('m1', 'm2', bye, NOW).ok, 'valid ones are accepted');
  checkProperty(
    t,
    'random and mutated blobs are refused with a reason; sealed contents never throw',
    fc.property(fc.oneof(unsealed([punch, bye]).map((b) => [b, false] as const), sealed('message', [punch, bye]).map((b) => [b, true] as const)), ([blob, isSealed]) => {
      const r = guard.check('m1', 'm2', blob, NOW);
      if (r.ok) return isSealed; // only the pair's two ends may send one (it must carry their MAC)
      return MESSAGE_REASONS.includes(r.reason);
    }),
    { numRuns: 400 },
  );
});
