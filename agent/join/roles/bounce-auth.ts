// How a member proves to a bounce peer (a room member that relays, see bounce.ts) that the member
// id it binds is its own: an HMAC, with the relay key of their pair (pair-keys.ts: it mixes their
// X25519 result, so no third member can compute it), over the id and the
// time. Only that member and the bounce hold the key; the time bounds how long a captured bind
// could be replayed from another address (it would only redirect packets the replayer could not
// read anyway).
import { createHmac, timingSafeEqual } from 'node:crypto';

const TIME_BYTES = 8;
const TAG_BYTES = 32;
export const BOUNCE_AUTH_BYTES = TIME_BYTES + TAG_BYTES;
/** A bind this far from the bounce's clock either way is refused. */
export const BOUNCE_AUTH_WINDOW_MS = 120_000;

function tag(relayKey: Uint8Array, id: string, time: Buffer): Buffer {
  return createHmac('sha256', relayKey).update('wgp2p bounce bind v1\0').update(id, 'latin1').update(time).digest();
}

export function bounceBindAuth(relayKey: Uint8Array, id: string, wallNow = Date.now()): Buffer {
  const time = Buffer.alloc(TIME_BYTES);
  time.writeBigUInt64BE(BigInt(Math.floor(wallNow)));
  return Buffer.concat([time, tag(relayKey, id, time)]);
}

export function checkBounceBindAuth(relayKey: Uint8Array, id: string, auth: Buffer, wallNow = Date.now()): boolean {
  if (auth.length !== BOUNCE_AUTH_BYTES) return false;
  const time = auth.subarray(0, TIME_BYTES);
  if (Math.abs(Number(time.readBigUInt64BE()) - wallNow) > BOUNCE_AUTH_WINDOW_MS) return false;
  return timingSafeEqual(tag(relayKey, id, time), auth.subarray(TIME_BYTES));
}
