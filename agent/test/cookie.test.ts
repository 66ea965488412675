// mac1/mac2 and cookie replies in isolation: the responder's secret rotates every two minutes,
// the initiator uses a cookie only while it is fresh, and replies are bound to one message.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { COOKIE_REFRESH_TIME } from '../wireguard/constants.js';
import { CookieChecker, CookieGenerator } from '../wireguard/cookie.js';
import { PrivateKey } from '../wireguard/crypto.js';
import { INITIATION, MSG_INITIATION } from '../../shared/wire/wireguard.js';

const responder = PrivateKey.generate().publicKey;
const source = Buffer.from('198.51.100.7|51820');

function initiation(): Buffer {
  const m = randomBytes(INITIATION.size);
  m.writeUInt32LE(MSG_INITIATION, 0);
  return m;
}

/** A generator that got a cookie from `checker` for `source` at time `now`. */
function withCookie(t: Test, checker: CookieChecker, now: number): { gen: CookieGenerator; msg: Buffer } {
  const gen = new CookieGenerator(responder);
  const first = initiation();
  gen.addMacs(first, MSG_INITIATION, now);
  t.ok(gen.consumeReply(checker.createReply(first, MSG_INITIATION, 7, source, now), now), 'reply accepted');
  const msg = initiation();
  gen.addMacs(msg, MSG_INITIATION, now);
  return { gen, msg };
}

t.test('mac1 always, mac2 only with a fresh cookie', async (t) => {
  const checker = new CookieChecker(responder, 0);
  const gen = new CookieGenerator(responder);
  const m = initiation();
  gen.addMacs(m, MSG_INITIATION, 0);
  t.ok(checker.checkMac1(m, MSG_INITIATION));
  t.ok(m.subarray(INITIATION.mac2).every((b) => b === 0), 'no cookie yet: mac2 is zero');
  t.notOk(checker.checkMac2(m, MSG_INITIATION, source, 0));
  const { gen: g2, msg } = withCookie(t, checker, 1000);
  t.ok(checker.checkMac2(msg, MSG_INITIATION, source, 1000), 'mac2 made with the cookie verifies');
  t.notOk(checker.checkMac2(msg, MSG_INITIATION, Buffer.from('198.51.100.7|51821'), 1000), 'bound to the source port');
  const late = initiation();
  g2.addMacs(late, MSG_INITIATION, 1000 + COOKIE_REFRESH_TIME);
  t.ok(late.subarray(INITIATION.mac2).every((b) => b === 0), 'a two-minute-old cookie is no longer used');
});

t.test('the cookie secret rotates every two minutes', async (t) => {
  const checker = new CookieChecker(responder, 0);
  const { msg } = withCookie(t, checker, 10_000);
  t.ok(checker.checkMac2(msg, MSG_INITIATION, source, COOKIE_REFRESH_TIME - 1), 'valid until the secret changes');
  t.notOk(checker.checkMac2(msg, MSG_INITIATION, source, COOKIE_REFRESH_TIME + 1), 'a new secret voids old cookies');
});

t.test('a cookie reply opens only for the message it answers, and only once', async (t) => {
  const checker = new CookieChecker(responder, 0);
  const gen = new CookieGenerator(responder);
  const sent = initiation();
  gen.addMacs(sent, MSG_INITIATION, 0);
  const other = initiation();
  new CookieGenerator(responder).addMacs(other, MSG_INITIATION, 0);
  t.notOk(gen.consumeReply(checker.createReply(other, MSG_INITIATION, 1, source, 0), 0), 'reply to another message refused');
  const reply = checker.createReply(sent, MSG_INITIATION, 1, source, 0);
  const tampered = Buffer.from(reply);
  tampered[40]! ^= 1;
  t.notOk(gen.consumeReply(tampered, 0), 'tampered reply refused');
  t.ok(gen.consumeReply(reply, 0));
  t.notOk(gen.consumeReply(reply, 0), 'replayed reply refused');
});
