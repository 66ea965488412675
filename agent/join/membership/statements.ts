// What admins sign in a room with admins (see README, "Membership control"). Every statement is a
// small JSON object signed with XEdDSA by an admin key (an X25519 key pair, like members' own), and
// names the room's anchor: the first admin's public key, made by `wgp2p room init` and carried by
// every invite, so a member trusts only admins that chain up to it. An admin other than the anchor
// proves itself with a chain of admin certificates (`ch`) from the anchor down to it.
//   admin:  {t:'admin', r, k: admin key, by, at, ch?, s}
//   member: {t:'member', r, k: member key, n: name, by, at, inv?: invite id, ch?, s}
//   invite: {t:'invite', r, i: invite key, u: uses, exp, n?: name, by, at, ch?, s}
// Parsing and checking never throw: bad input gives a reason.
import { formatKey } from '../../../shared/keys.js';
import { xeddsaSign, xeddsaVerify } from '../identity/xeddsa.js';
import { PrivateKey } from '../../wireguard/crypto.js';

const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const SIGNATURE = /^[A-Za-z0-9+/]{86}==$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** Admin certificates between the anchor and a signer; deeper chains are refused. */
export const MAX_CHAIN = 4;
/** Most uses one invite may grant. */
export const MAX_INVITE_USES = 1000;

export type Result<T> = { ok: true; value: T } | { ok: false; reason: string };
type Obj = Record<string, unknown>;

export function isKeyText(v: unknown): v is string {
  return typeof v === 'string' && KEY.test(v);
}

/** The bytes a statement's signature covers: a label, then the statement without `s`. */
function signedBytes(o: Obj): Buffer {
  const { s: _s, ...rest } = o;
  return Buffer.from(`wgp2p membership v1\0${JSON.stringify(rest)}`);
}

/** Signs `body` with an admin (or invite) private key; the result carries `by` and `s`. */
export function signStatement<T extends Obj>(body: T, privateKey: Uint8Array): T & { by: string; s: string } {
  const withSigner = { ...body, by: formatKey(new PrivateKey(privateKey).publicKey) };
  return { ...withSigner, s: xeddsaSign(privateKey, signedBytes(withSigner)).toString('base64') };
}

/** True when `o.s` is `o.by`'s signature over the rest of `o`. */
export function signatureHolds(o: Obj): boolean {
  if (!isKeyText(o.by) || typeof o.s !== 'string' || !SIGNATURE.test(o.s)) return false;
  return xeddsaVerify(Buffer.from(o.by, 'base64'), signedBytes(o), Buffer.from(o.s, 'base64'));
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Who may sign in a room: its anchor, and what is revoked (keys of members or admins). */
export interface Authority {
  anchor: string;
  isRevoked(key: string): boolean;
}

/**
 * Checks that `o` is signed by an admin of the room: its `by` is the anchor, or is certified by a
 * chain `o.ch` of admin certificates starting at the anchor. No revoked key may sign or be certified.
 */
export function checkSigner(o: Obj, auth: Authority): Result<string> {
  if (o.r !== auth.anchor) return { ok: false, reason: 'other_room' };
  const chain = o.ch ?? [];
  if (!Array.isArray(chain) || chain.length > MAX_CHAIN) return { ok: false, reason: 'malformed' };
  const admins = new Set([auth.anchor]);
  for (const c of chain) {
    if (!isObj(c) || c.t !== 'admin' || c.r !== auth.anchor || !isKeyText(c.k) || !isTime(c.at) || c.ch !== undefined) return { ok: false, reason: 'malformed' };
    if (!isKeyText(c.by) || !admins.has(c.by)) return { ok: false, reason: 'untrusted_signer' };
    if (auth.isRevoked(c.by) || auth.isRevoked(c.k)) return { ok: false, reason: 'revoked_signer' };
    if (!signatureHolds(c)) return { ok: false, reason: 'bad_signature' };
    admins.add(c.k);
  }
  if (!isKeyText(o.by) || !admins.has(o.by)) return { ok: false, reason: 'untrusted_signer' };
  if (auth.isRevoked(o.by)) return { ok: false, reason: 'revoked_signer' };
  if (!signatureHolds(o)) return { ok: false, reason: 'bad_signature' };
  return { ok: true, value: o.by };
}

export interface AdminCert {
  t: 'admin';
  r: string;
  k: string;
  by: string;
  at: number;
  s: string;
}

/** An admin's own credentials: its private key and the chain that certifies it (empty for the anchor). */
export interface AdminSigner {
  privateKey: Buffer;
  anchor: string;
  chain: AdminCert[];
}

function signAs<T extends Obj>(admin: AdminSigner, body: T): T & { by: string; s: string } {
  return signStatement({ ...body, r: admin.anchor, ...(admin.chain.length ? { ch: admin.chain } : {}) }, admin.privateKey);
}

/** Certifies `adminKey` as another admin of the room. */
export function certifyAdmin(admin: AdminSigner, adminKey: Buffer, now = Date.now()): AdminCert {
  if (admin.chain.length >= MAX_CHAIN) throw new Error(`admin chains are limited to ${MAX_CHAIN} certificates`);
  const cert = signStatement({ t: 'admin' as const, r: admin.anchor, k: formatKey(adminKey), at: now }, admin.privateKey);
  return cert as AdminCert;
}

/** The chain a newly certified admin signs with: its certifier's chain and its own certificate. */
export function chainFor(certifier: AdminSigner, cert: AdminCert): AdminCert[] {
  return [...certifier.chain, cert];
}

export interface Membership {
  key: string;
  name: string;
  /** The admin that signed it. */
  by: string;
  at: number;
  /** The invite it came from, if any. */
  invite?: string;
}

export function signMembership(admin: AdminSigner, m: { key: Buffer; name: string; invite?: string }, now = Date.now()): Obj {
  return signAs(admin, { t: 'member', k: formatKey(m.key), n: m.name, at: now, ...(m.invite ? { inv: m.invite } : {}) });
}

/** Checks a membership statement for `forKey` in the room of `auth`. */
export function checkMembership(raw: unknown, forKey: string, auth: Authority): Result<Membership> {
  if (!isObj(raw) || raw.t !== 'member' || !isKeyText(raw.k) || typeof raw.n !== 'string' || !NAME.test(raw.n) || !isTime(raw.at)) return { ok: false, reason: 'malformed' };
  if (raw.inv !== undefined && !isKeyText(raw.inv)) return { ok: false, reason: 'malformed' };
  if (raw.k !== forKey) return { ok: false, reason: 'other_key' };
  if (auth.isRevoked(raw.k)) return { ok: false, reason: 'revoked' };
  const signer = checkSigner(raw, auth);
  if (!signer.ok) return signer;
  return { ok: true, value: { key: raw.k, name: raw.n, by: signer.value, at: raw.at, ...(raw.inv ? { invite: raw.inv as string } : {}) } };
}

export interface InviteGrant {
  /** The invite's public key: its id. */
  id: string;
  uses: number;
  expires: number;
  name?: string;
  by: string;
}

export function signInvite(admin: AdminSigner, g: { inviteKey: Buffer; uses: number; expires: number; name?: string }, now = Date.now()): Obj {
  return signAs(admin, { t: 'invite', i: formatKey(g.inviteKey), u: g.uses, exp: g.expires, ...(g.name ? { n: g.name } : {}), at: now });
}

/** Checks an admin's invite grant; expiry is the caller's (see redemption.ts). */
export function checkInvite(raw: unknown, auth: Authority): Result<InviteGrant> {
  if (!isObj(raw) || raw.t !== 'invite' || !isKeyText(raw.i) || !isTime(raw.exp) || !isTime(raw.at)) return { ok: false, reason: 'malformed' };
  if (typeof raw.u !== 'number' || !Number.isInteger(raw.u) || raw.u < 1 || raw.u > MAX_INVITE_USES) return { ok: false, reason: 'malformed' };
  if (raw.n !== undefined && (typeof raw.n !== 'string' || !NAME.test(raw.n))) return { ok: false, reason: 'malformed' };
  if (auth.isRevoked(raw.i)) return { ok: false, reason: 'revoked' };
  const signer = checkSigner(raw, auth);
  if (!signer.ok) return signer;
  return { ok: true, value: { id: raw.i, uses: raw.u, expires: raw.exp, ...(raw.n ? { name: raw.n as string } : {}), by: signer.value } };
}

/**
 * What a joiner shows before it is a member: the admin's invite grant and the invite key's
 * signature over the joiner's own key, so the grant cannot be moved to another key by whoever
 * reads the announcement (any member can).
 */
export function signRedemption(invitePrivateKey: Buffer, grant: Obj, memberKey: Buffer): Obj {
  return { g: grant, p: signStatement({ t: 'redeem', k: formatKey(memberKey) }, invitePrivateKey) };
}

export function checkRedemption(raw: unknown, forKey: string, auth: Authority, now: number): Result<InviteGrant> {
  if (!isObj(raw) || !isObj(raw.p)) return { ok: false, reason: 'malformed' };
  const grant = checkInvite(raw.g, auth);
  if (!grant.ok) return grant;
  const p = raw.p;
  if (p.t !== 'redeem' || p.k !== forKey || p.by !== grant.value.id) return { ok: false, reason: 'other_key' };
  if (!signatureHolds(p)) return { ok: false, reason: 'bad_signature' };
  if (grant.value.expires <= now) return { ok: false, reason: 'expired' };
  return grant;
}
