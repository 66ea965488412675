// What a member tells its room: who it is (public key, name, address), where it can be reached
// (candidates) and how its NAT behaves. Sealed with the room key, so the server and strangers can
// neither read nor forge it. Every received one is checked: it must open, be well-formed, be
// bound to the member id the server delivered it under (a replay under another id fails), be
// fresh, and be newer than the last one accepted for the same key.
import { formatKey } from '../../../shared/keys.js';
import { isMemberId } from '../../../shared/signal/fields.js';
import { openForRoom, sealForRoom, type OpenedBlob, type RoomCredentials, type SealPurpose } from '../../../shared/signal/room-key.js';
import { encodeCandidates, parseCandidates, type Candidate } from '../nat/candidates.js';
import { ipv4ToInt } from './room-address.js';
import { parseRouteList } from '../routes/route-prefix.js';
import { xeddsaSign, xeddsaVerify } from '../identity/xeddsa.js';
import type { FilteringBehaviour, MappingBehaviour } from '../../../shared/stun/discovery.js';

export type { FilteringBehaviour, MappingBehaviour };
const MAPPINGS: readonly MappingBehaviour[] = ['endpoint-independent', 'endpoint-dependent', 'unknown'];
const FILTERINGS: readonly FilteringBehaviour[] = ['port-independent', 'port-dependent', 'unknown'];

export interface NatInfo {
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
}

export interface AnnouncementBody {
  publicKey: Buffer;
  /** The signalling member id this announcement was made for (from welcome). */
  memberId: string;
  name: string;
  /** The member's address in the room subnet (IPv4, no prefix). */
  address: string;
  /** Since when it holds that address (its wall clock, ms): the earlier claim keeps an address. */
  addressSince?: number;
  /** Since when it announces its name and routes (its wall clock, ms): the earlier claim keeps a name or a contested prefix. */
  claimsSince?: number;
  candidates: Candidate[];
  nat: NatInfo;
  /** True when the member relays for the room (`--bounce`): members may bind to it. */
  bounce?: boolean;
  /** True when the member is a classic hub (`--hub`): it forwards decrypted traffic between members. */
  hub?: boolean;
  /** LAN prefixes reachable through the member (`--advertise-routes`): canonical IPv4 or IPv6 CIDRs. */
  routes?: string[];
  /** The member offers to be an exit node (`--advertise-exit-node`). */
  exitNode?: boolean;
  /** The exit node carries IPv6 too (members route ::/0 to it); meaningless without exitNode. */
  exitNode6?: boolean;
  /** In a room with admins: its admin-signed membership, or the invite it redeems (membership/). */
  membership?: Record<string, unknown>;
  /** In a room with admins: the version of the revocation list it holds (0: none). */
  revocations?: number;
}

export interface Announcement extends AnnouncementBody {
  /** When the member sealed it (its clock, ms since the epoch). */
  issuedAt: number;
}

const VERSION = 2;
/** Base64 of a 64-byte signature. */
const SIGNATURE = /^[A-Za-z0-9+/]{86}==$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export function isMemberName(v: unknown): v is string {
  return typeof v === 'string' && NAME.test(v);
}

/** A name every member accepts, from e.g. the host name. */
export function sanitizeName(raw: string): string {
  const s = raw.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63);
  return s || 'member';
}

/** An optional claim time: absent, or wall ms. */
function isClaimTime(v: unknown): boolean {
  return v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);
}

/** What a member signs: the payload without its signature, under a label of its own. */
function signedBytes(payloadJson: string): Buffer {
  return Buffer.from(`wgp2p announcement v${VERSION}\0${payloadJson}`);
}

/**
 * Seals an announcement, signed (XEdDSA) with the member's own WireGuard private key: holding the
 * room secret is not enough to announce someone else's key.
 */
export function sealAnnouncement(room: RoomCredentials, a: AnnouncementBody, privateKey: Uint8Array, now = Date.now()): string {
  const payload = {
    v: VERSION,
    k: formatKey(a.publicKey),
    m: a.memberId,
    n: a.name,
    a: a.address,
    ...(a.addressSince !== undefined ? { as: a.addressSince } : {}),
    ...(a.claimsSince !== undefined ? { cs: a.claimsSince } : {}),
    c: encodeCandidates(a.candidates),
    nat: [a.nat.mapping, a.nat.filtering],
    ...(a.bounce ? { b: 1 } : {}),
    ...(a.hub ? { h: 1 } : {}),
    ...(a.routes?.length ? { r: a.routes } : {}),
    ...(a.exitNode ? { x: 1 } : {}),
    ...(a.exitNode && a.exitNode6 ? { x6: 1 } : {}),
    ...(a.membership ? { mp: a.membership } : {}),
    ...(a.revocations ? { rv: a.revocations } : {}),
    t: now,
  };
  const s = xeddsaSign(privateKey, signedBytes(JSON.stringify(payload))).toString('base64');
  return sealForRoom(room, 'announce', Buffer.from(JSON.stringify({ ...payload, s })), now);
}

export type OpenResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Opens a sealed blob whose payload must be a JSON object (announcements and peer messages). */
export function openSealedObject(
  room: RoomCredentials,
  purpose: SealPurpose,
  blob: string,
): OpenResult<{ object: Record<string, unknown>; opened: OpenedBlob }> {
  const opened = openForRoom(room, purpose, blob);
  if (!opened) return { ok: false, reason: 'does_not_verify' };
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(opened.payload).toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return { ok: false, reason: 'malformed' };
  return { ok: true, value: { object: p as Record<string, unknown>, opened } };
}

/** Opens and validates one blob; never throws. Unknown extra fields are ignored (newer agents). */
export function openAnnouncement(room: RoomCredentials, blob: string): OpenResult<Announcement> {
  const sealed = openSealedObject(room, 'announce', blob);
  if (!sealed.ok) return sealed;
  const { object: o, opened } = sealed.value;
  const nat = o.nat;
  if (o.v !== VERSION) return { ok: false, reason: 'version' };
  if (typeof o.k !== 'string' || !KEY.test(o.k) || !isMemberId(o.m) || !isMemberName(o.n)) return { ok: false, reason: 'malformed' };
  if (typeof o.a !== 'string' || ipv4ToInt(o.a) === undefined) return { ok: false, reason: 'malformed' };
  if (!Array.isArray(nat) || nat.length !== 2 || !MAPPINGS.includes(nat[0]) || !FILTERINGS.includes(nat[1])) return { ok: false, reason: 'malformed' };
  const candidates = parseCandidates(o.c);
  if (!candidates) return { ok: false, reason: 'malformed' };
  if (!isClaimTime(o.as) || !isClaimTime(o.cs)) return { ok: false, reason: 'malformed' };
  if ((o.b !== undefined && o.b !== 1) || (o.h !== undefined && o.h !== 1) || (o.x !== undefined && o.x !== 1) || (o.x6 !== undefined && o.x6 !== 1)) return { ok: false, reason: 'malformed' };
  const routes = parseRouteList(o.r);
  if (!routes) return { ok: false, reason: 'bad_routes' };
  const mp = o.mp;
  if (mp !== undefined && (typeof mp !== 'object' || mp === null || Array.isArray(mp))) return { ok: false, reason: 'malformed' };
  if (o.rv !== undefined && (typeof o.rv !== 'number' || !Number.isSafeInteger(o.rv) || o.rv < 0)) return { ok: false, reason: 'malformed' };
  // Signed by the key it announces, for the moment it was sealed (a re-sealed copy is refused).
  const { s, ...signed } = o;
  if (typeof s !== 'string' || !SIGNATURE.test(s) || o.t !== opened.issuedAt) return { ok: false, reason: 'malformed' };
  if (!xeddsaVerify(Buffer.from(o.k, 'base64'), signedBytes(JSON.stringify(signed)), Buffer.from(s, 'base64'))) return { ok: false, reason: 'bad_signature' };
  return {
    ok: true,
    value: {
      publicKey: Buffer.from(o.k, 'base64'),
      memberId: o.m,
      name: o.n,
      address: o.a,
      ...(o.as !== undefined ? { addressSince: o.as as number } : {}),
      ...(o.cs !== undefined ? { claimsSince: o.cs as number } : {}),
      candidates,
      nat: { mapping: nat[0] as MappingBehaviour, filtering: nat[1] as FilteringBehaviour },
      bounce: o.b === 1,
      hub: o.h === 1,
      ...(routes.length > 0 && { routes }),
      ...(o.x === 1 && { exitNode: true }),
      ...(o.x === 1 && o.x6 === 1 && { exitNode6: true }),
      ...(mp ? { membership: mp as Record<string, unknown> } : {}),
      ...(o.rv ? { revocations: o.rv as number } : {}),
      issuedAt: opened.issuedAt,
    },
  };
}

export interface FreshnessLimits {
  /** Older than this is stale (members re-announce well within it). */
  maxAgeMs: number;
  /** Clock skew tolerated into the future. */
  maxFutureMs: number;
}

export const ANNOUNCE_LIMITS: FreshnessLimits = { maxAgeMs: 30 * 60_000, maxFutureMs: 5 * 60_000 };
/** How often a member re-seals its announcement so it never goes stale for newcomers. */
export const ANNOUNCE_REFRESH_MS = 10 * 60_000;

/**
 * The receiving side's checks beyond the seal: binding to the delivering member id, freshness,
 * and per-key ordering (an older or repeated announcement is a replay).
 */
export class AnnouncementGuard {
  private readonly newest = new Map<string, { issuedAt: number; blob: string }>();

  constructor(
    private readonly room: RoomCredentials,
    private readonly self: Buffer,
    private readonly limits: FreshnessLimits = ANNOUNCE_LIMITS,
  ) {}

  check(memberId: string, blob: string, now = Date.now()): OpenResult<Announcement> {
    const opened = openAnnouncement(this.room, blob);
    if (!opened.ok) return opened;
    const a = opened.value;
    if (a.memberId !== memberId) return { ok: false, reason: 'wrong_member_id' };
    if (a.publicKey.equals(this.self)) return { ok: false, reason: 'own_key' };
    if (a.issuedAt > now + this.limits.maxFutureMs) return { ok: false, reason: 'from_future' };
    if (a.issuedAt < now - this.limits.maxAgeMs) return { ok: false, reason: 'stale' };
    const key = a.publicKey.toString('base64');
    const last = this.newest.get(key);
    if (last && (a.issuedAt < last.issuedAt || (a.issuedAt === last.issuedAt && blob !== last.blob))) return { ok: false, reason: 'replayed' };
    this.newest.set(key, { issuedAt: a.issuedAt, blob });
    return { ok: true, value: a };
  }

  /** Forgets a key's history (it left); a later announcement starts fresh but must still be fresh. */
  forget(publicKey: Buffer): void {
    this.newest.delete(publicKey.toString('base64'));
  }
}
