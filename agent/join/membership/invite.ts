// The invite a new member pastes: one line carrying what it needs to join an admin room: the
// server URL, the room name and secret, the room's anchor (the first admin's key, which it will
// trust) and the admin's invite grant with the invite's private key (to redeem it for its own key).
// Whoever holds the line can redeem it (like the secret itself), within its uses and expiry.
import { formatKey } from '../../../shared/keys.js';
import { PrivateKey } from '../../wireguard/crypto.js';
import { isKeyText, type AdminCert } from './statements.js';

export const INVITE_PREFIX = 'wgp2p-invite:';
const VERSION = 1;
/** Longer input is refused before decoding. */
const MAX_INVITE_LENGTH = 8192;

export interface Invite {
  server: string;
  room: string;
  secret: string;
  anchor: string;
  /** The invite's private key (signs the redemption of the grant for the joiner's key). */
  inviteKey: Buffer;
  /** The admin's signed grant (statements.ts, checkInvite). */
  grant: Record<string, unknown>;
  /** An admin invite (`wgp2p invite --admin`): a new admin key and the chain that certifies it. */
  admin?: { privateKey: Buffer; chain: AdminCert[] };
}

export function encodeInvite(i: Invite): string {
  const body = { v: VERSION, s: i.server, r: i.room, k: i.secret, a: i.anchor, i: formatKey(i.inviteKey), g: i.grant, ...(i.admin && { ad: { k: formatKey(i.admin.privateKey), ch: i.admin.chain } }) };
  return INVITE_PREFIX + Buffer.from(JSON.stringify(body)).toString('base64url');
}

/** Decodes an invite line; throws one clear line on anything else. */
export function decodeInvite(text: string): Invite {
  const t = text.trim();
  if (!t.startsWith(INVITE_PREFIX) || t.length > MAX_INVITE_LENGTH) throw new Error(`not a wgp2p invite (it starts with ${INVITE_PREFIX})`);
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(t.slice(INVITE_PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw new Error('the invite is damaged (copy the whole line)');
  }
  if (typeof o !== 'object' || o === null) throw new Error('the invite is damaged (copy the whole line)');
  const b = o as Record<string, unknown>;
  if (b.v !== VERSION) throw new Error(`the invite is of another version (${String(b.v)}); update wgp2p`);
  const text_ = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 1024;
  if (!text_(b.s) || !text_(b.r) || !text_(b.k) || !isKeyText(b.a) || !isKeyText(b.i) || typeof b.g !== 'object' || b.g === null) {
    throw new Error('the invite is damaged (copy the whole line)');
  }
  const ad = b.ad as { k?: unknown; ch?: unknown } | undefined;
  if (ad !== undefined && (typeof ad !== 'object' || ad === null || !isKeyText(ad.k) || !Array.isArray(ad.ch))) throw new Error('the invite is damaged (copy the whole line)');
  return {
    server: b.s as string,
    room: b.r as string,
    secret: b.k as string,
    anchor: b.a,
    inviteKey: Buffer.from(b.i, 'base64'),
    grant: b.g as Record<string, unknown>,
    ...(ad && { admin: { privateKey: Buffer.from(ad.k as string, 'base64'), chain: ad.ch as AdminCert[] } }),
  };
}

/** "24h", "90m", "7d", "3600s": a duration in ms; throws on anything else. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (!m) throw new Error(`expected a duration like 30m, 24h or 7d, got "${text}"`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  const ms = Number(m[1]) * unit;
  if (ms <= 0) throw new Error(`the duration must be positive, got "${text}"`);
  return ms;
}

/** An invite's id (its invite key's public half, as revocation lists hold it), from its line or the id itself. */
export function inviteId(text: string): string {
  const t = text.trim();
  if (isKeyText(t)) return t;
  return formatKey(new PrivateKey(decodeInvite(t).inviteKey).publicKey);
}
