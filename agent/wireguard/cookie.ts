// mac1/mac2 and cookie replies: WireGuard's DoS defence (whitepaper §5.4.4, §5.4.7).
// The checker is the responder side (one per device, our own public key); the generator is the
// initiator side (one per peer, that peer's public key).
import { randomBytes } from 'node:crypto';
import { COOKIE_REFRESH_TIME, LABEL_COOKIE, LABEL_MAC1, MAC_LEN } from './constants.js';
import { equalBytes, hash, isZero, mac, xopen, xseal } from './crypto.js';
import { decodeCookieReply, encodeCookieReply, macOffsets } from './messages.js';

export type RandomSource = (n: number) => Uint8Array;
const systemRandom: RandomSource = (n) => randomBytes(n);

function mac1Key(publicKey: Uint8Array): Buffer {
  return hash(Buffer.from(LABEL_MAC1), publicKey);
}
function cookieKey(publicKey: Uint8Array): Buffer {
  return hash(Buffer.from(LABEL_COOKIE), publicKey);
}

export class CookieChecker {
  private readonly mac1Key: Buffer;
  private readonly cookieKey: Buffer;
  private secret: Uint8Array;
  private secretSetAt: number;

  constructor(localPublicKey: Uint8Array, now: number, private readonly random: RandomSource = systemRandom) {
    this.mac1Key = mac1Key(localPublicKey);
    this.cookieKey = cookieKey(localPublicKey);
    this.secret = random(32);
    this.secretSetAt = now;
  }

  checkMac1(msg: Buffer, type: number): boolean {
    const off = macOffsets(type);
    if (!off) return false;
    return equalBytes(mac(this.mac1Key, msg.subarray(0, off.mac1)), msg.subarray(off.mac1, off.mac1 + MAC_LEN));
  }

  /** mac2 is valid when made with the cookie we would give this source right now. */
  checkMac2(msg: Buffer, type: number, source: Uint8Array, now: number): boolean {
    const off = macOffsets(type);
    if (!off) return false;
    const got = msg.subarray(off.mac2, off.mac2 + MAC_LEN);
    if (isZero(got)) return false;
    return equalBytes(mac(this.cookieFor(source, now), msg.subarray(0, off.mac2)), got);
  }

  /** A cookie reply to `msg` (whose sender index is `receiver`), bound to its mac1. */
  createReply(msg: Buffer, type: number, receiver: number, source: Uint8Array, now: number): Buffer {
    const off = macOffsets(type)!;
    const nonce = Buffer.from(this.random(24));
    const encryptedCookie = Buffer.from(xseal(this.cookieKey, nonce, this.cookieFor(source, now), msg.subarray(off.mac1, off.mac1 + MAC_LEN)));
    return encodeCookieReply({ receiver, nonce, encryptedCookie });
  }

  private cookieFor(source: Uint8Array, now: number): Uint8Array {
    if (now - this.secretSetAt >= COOKIE_REFRESH_TIME) {
      this.secret = this.random(32);
      this.secretSetAt = now;
    }
    return mac(this.secret, source);
  }
}

export class CookieGenerator {
  private readonly mac1Key: Buffer;
  private readonly cookieKey: Buffer;
  private cookie: Uint8Array | undefined;
  private cookieAt = 0;
  private lastMac1: Buffer | undefined;

  constructor(remotePublicKey: Uint8Array) {
    this.mac1Key = mac1Key(remotePublicKey);
    this.cookieKey = cookieKey(remotePublicKey);
  }

  /** Writes mac1, and mac2 when we hold a cookie younger than two minutes. */
  addMacs(msg: Buffer, type: number, now: number): void {
    const off = macOffsets(type)!;
    const m1 = mac(this.mac1Key, msg.subarray(0, off.mac1));
    msg.set(m1, off.mac1);
    this.lastMac1 = Buffer.from(m1);
    if (this.cookie && now - this.cookieAt < COOKIE_REFRESH_TIME) {
      msg.set(mac(this.cookie, msg.subarray(0, off.mac2)), off.mac2);
    } else {
      msg.fill(0, off.mac2, off.mac2 + MAC_LEN);
    }
  }

  /** Accepts a cookie reply to the last message we sent; false if it does not decrypt. */
  consumeReply(reply: Buffer, now: number): boolean {
    if (!this.lastMac1) return false;
    const r = decodeCookieReply(reply);
    if (!r) return false;
    const cookie = xopen(this.cookieKey, r.nonce, r.encryptedCookie, this.lastMac1);
    if (!cookie || cookie.length !== MAC_LEN) return false;
    this.cookie = cookie;
    this.cookieAt = now;
    this.lastMac1 = undefined; // one reply per message: a replayed reply is useless
    return true;
  }
}
