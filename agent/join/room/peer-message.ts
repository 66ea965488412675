// Directed messages between two members, through the server: "punch" asks the recipient to start
// probing paths toward the sender now; "bye" says the sender is leaving the room for good (a bare
// member-left may only mean it lost the server, while its link to us still works). Sealed with
// the room key like announcements; bound to sender and recipient member ids and to the sender's
// public key, fresh within a minute, and each accepted at most once. The room key lets any member
// seal one, so each also carries a MAC under the pair's message key (pair-keys.ts: only the two
// ends can compute it): a third member cannot speak for the sender, even with the server's help
// or on the path, where it could deliver a forgery under the sender's member id.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { formatKey } from '../../../shared/keys.js';
import { isMemberId } from '../../../shared/signal/fields.js';
import { sealForRoom, type RoomCredentials } from '../../../shared/signal/room-key.js';
import { encodeCandidates, parseCandidates, type Candidate } from '../nat/candidates.js';
import { openSealedObject, type OpenResult } from './announcement.js';

export interface PunchRequest {
  kind: 'punch';
  publicKey: Buffer;
  from: string;
  to: string;
  /** Names one punching session; a repeat of a running one does not restart it. */
  session: string;
  /** The sender's current candidates (they may be newer than its last announcement). */
  candidates: Candidate[];
  /** The sender starts probing this long after sending: about when this arrives. */
  startInMs: number;
}

export interface Bye {
  kind: 'bye';
  publicKey: Buffer;
  from: string;
  to: string;
}

/** Membership control in a room with admins (membership/): admin-signed statements for the recipient. */
export interface MembershipMessage {
  kind: 'membership';
  publicKey: Buffer;
  from: string;
  to: string;
  /** One signed statement: a membership (admit), a refusal, or the revocation list. */
  statement: Record<string, unknown>;
}

export type PeerMessage = PunchRequest | Bye | MembershipMessage;

const VERSION = 2;
const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
/** Base64 of a 32-byte HMAC-SHA256. */
const MAC = /^[A-Za-z0-9+/]{43}=$/;
const SESSION = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_START_DELAY_MS = 2_000;

/** The MAC of a payload (without its own `mac`) under the pair's message key, labelled and versioned. */
function macOf(messageKey: Uint8Array, payload: Record<string, unknown>): Buffer {
  return createHmac('sha256', messageKey).update(`wgp2p message v${VERSION}\0${JSON.stringify(payload)}`).digest();
}

/** Seals `payload` with the room key, MACed with the pair key and bound to the seal's time. */
function seal(room: RoomCredentials, messageKey: Uint8Array, payload: Record<string, unknown>, now: number): string {
  const bound = { ...payload, at: now };
  return sealForRoom(room, 'message', Buffer.from(JSON.stringify({ ...bound, mac: macOf(messageKey, bound).toString('base64') })), now);
}

/** `messageKey` is our pair key with the recipient (PairKeys.messageKey). */
export function sealPunchRequest(room: RoomCredentials, m: Omit<PunchRequest, 'kind'>, messageKey: Uint8Array, now = Date.now()): string {
  return seal(room, messageKey, { v: VERSION, t: 'punch', k: formatKey(m.publicKey), f: m.from, to: m.to, s: m.session, c: encodeCandidates(m.candidates), d: Math.round(m.startInMs) }, now);
}

export function sealBye(room: RoomCredentials, m: Omit<Bye, 'kind'>, messageKey: Uint8Array, now = Date.now()): string {
  return seal(room, messageKey, { v: VERSION, t: 'bye', k: formatKey(m.publicKey), f: m.from, to: m.to }, now);
}

/** Admin-signed statements (membership/) carry their own authority; the MAC binds them to the pair like the others. */
export function sealMembershipMessage(room: RoomCredentials, m: Omit<MembershipMessage, 'kind'>, messageKey: Uint8Array, now = Date.now()): string {
  return seal(room, messageKey, { v: VERSION, t: 'membership', k: formatKey(m.publicKey), f: m.from, to: m.to, x: m.statement }, now);
}

interface Parsed {
  message: PeerMessage;
  issuedAt: number;
  /** What the MAC covers, and the MAC. */
  macked: Record<string, unknown>;
  mac: Buffer;
}

function parse(room: RoomCredentials, blob: string): OpenResult<Parsed> {
  const sealed = openSealedObject(room, 'message', blob);
  if (!sealed.ok) return sealed;
  const { object: o, opened } = sealed.value;
  if (o.v !== VERSION) return { ok: false, reason: 'version' };
  if (o.t !== 'punch' && o.t !== 'bye' && o.t !== 'membership') return { ok: false, reason: 'unknown_kind' };
  if (typeof o.k !== 'string' || !KEY.test(o.k) || !isMemberId(o.f) || !isMemberId(o.to)) return { ok: false, reason: 'malformed' };
  // Bound to the moment it was sealed: a re-sealed copy (any member can re-seal) is refused.
  const { mac, ...macked } = o;
  if (typeof mac !== 'string' || !MAC.test(mac) || o.at !== opened.issuedAt) return { ok: false, reason: 'malformed' };
  const auth = { issuedAt: opened.issuedAt, macked, mac: Buffer.from(mac, 'base64') };
  if (o.t === 'membership') {
    const x = o.x;
    if (typeof x !== 'object' || x === null || Array.isArray(x)) return { ok: false, reason: 'malformed' };
    return { ok: true, value: { message: { kind: 'membership', publicKey: Buffer.from(o.k, 'base64'), from: o.f, to: o.to, statement: x as Record<string, unknown> }, ...auth } };
  }
  if (o.t === 'bye') return { ok: true, value: { message: { kind: 'bye', publicKey: Buffer.from(o.k, 'base64'), from: o.f, to: o.to }, ...auth } };
  const candidates = parseCandidates(o.c);
  const d = o.d;
  if (typeof o.s !== 'string' || !SESSION.test(o.s) || !candidates) return { ok: false, reason: 'malformed' };
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > MAX_START_DELAY_MS) return { ok: false, reason: 'malformed' };
  const message: PunchRequest = { kind: 'punch', publicKey: Buffer.from(o.k, 'base64'), from: o.f, to: o.to, session: o.s, candidates, startInMs: d };
  return { ok: true, value: { message, ...auth } };
}

/** Replay memory per sender: far above what a member sends honestly (a few per minute). */
export const MAX_SEEN_PER_MEMBER = 256;
/** Bounds the replay memory however many ids have sent: (members per room) x per member. */
export const MAX_SEEN = 64 * MAX_SEEN_PER_MEMBER;

/** Our pair message key with `memberId`, if it is a member we know under `publicKey`. */
export type PairKeyOf = (memberId: string, publicKey: Buffer) => Uint8Array | undefined;

interface SeenEntry {
  id: string;
  from: string;
  expires: number;
}

/**
 * Checks directed messages: sender membership, the pair MAC, binding to both ids, freshness, and at-most-once
 * delivery. Membership comes before anything is remembered, each sender has a bounded share of
 * the replay memory, and entries expire first-in first-out, so a flooding member costs O(1) per
 * message and cannot push out what others sent.
 */
export class PeerMessageGuard {
  private readonly seen = new Set<string>();
  /** In expiry order: each expires a fixed time after it was accepted. */
  private readonly queue: SeenEntry[] = [];
  private head = 0;
  private readonly perSender = new Map<string, number>();

  constructor(
    private readonly room: RoomCredentials,
    private readonly pairKeyOf: PairKeyOf,
    private readonly maxSkewMs = 60_000,
  ) {}

  /** Entries held for replay detection. */
  get size(): number {
    return this.seen.size;
  }

  check(fromId: string, ourId: string, blob: string, now = Date.now()): OpenResult<PeerMessage> {
    const r = parse(this.room, blob);
    if (!r.ok) return r;
    const { message, issuedAt, macked, mac } = r.value;
    if (message.from !== fromId || message.to !== ourId) return { ok: false, reason: 'wrong_member_id' };
    const key = this.pairKeyOf(fromId, message.publicKey);
    if (!key) return { ok: false, reason: 'unknown_member' };
    if (!timingSafeEqual(macOf(key, macked), mac)) return { ok: false, reason: 'bad_mac' };
    if (Math.abs(issuedAt - now) > this.maxSkewMs) return { ok: false, reason: 'stale' };
    this.expire(now);
    // The first 36 base64 characters hold version, purpose and the random 24-byte nonce.
    const id = blob.slice(0, 36);
    if (this.seen.has(id)) return { ok: false, reason: 'replayed' };
    const held = this.perSender.get(fromId) ?? 0;
    if (held >= MAX_SEEN_PER_MEMBER || this.seen.size >= MAX_SEEN) return { ok: false, reason: 'flood' };
    this.seen.add(id);
    this.perSender.set(fromId, held + 1);
    // A blob is fresh until issuedAt + skew <= now + 2 x skew: holding it that long from now
    // keeps the queue in expiry order.
    this.queue.push({ id, from: fromId, expires: now + 2 * this.maxSkewMs });
    return { ok: true, value: message };
  }

  private expire(now: number): void {
    while (this.head < this.queue.length && this.queue[this.head]!.expires < now) {
      const e = this.queue[this.head++]!;
      this.seen.delete(e.id);
      const held = (this.perSender.get(e.from) ?? 1) - 1;
      if (held <= 0) this.perSender.delete(e.from);
      else this.perSender.set(e.from, held);
    }
    // Compact once the consumed prefix dominates: amortised O(1) per entry.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
