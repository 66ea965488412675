// Directed messages between two members, through the server: "punch" asks the recipient to start
// probing paths toward the sender now; "bye" says the sender is leaving the room for good (a bare
// member-left may only mean it lost the server, while its link to us still works). Sealed with
// the room key like announcements; bound to sender and recipient member ids and to the sender's
// public key, fresh within a minute, and each accepted at most once.
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

export type PeerMessage = PunchRequest | Bye;

const VERSION = 1;
const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const SESSION = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_START_DELAY_MS = 2_000;

export function sealPunchRequest(room: RoomCredentials, m: Omit<PunchRequest, 'kind'>, now = Date.now()): string {
  const payload = {
    v: VERSION,
    t: 'punch',
    k: formatKey(m.publicKey),
    f: m.from,
    to: m.to,
    s: m.session,
    c: encodeCandidates(m.candidates),
    d: Math.round(m.startInMs),
  };
  return sealForRoom(room, 'message', Buffer.from(JSON.stringify(payload)), now);
}

export function sealBye(room: RoomCredentials, m: Omit<Bye, 'kind'>, now = Date.now()): string {
  const payload = { v: VERSION, t: 'bye', k: formatKey(m.publicKey), f: m.from, to: m.to };
  return sealForRoom(room, 'message', Buffer.from(JSON.stringify(payload)), now);
}

function parse(room: RoomCredentials, blob: string): OpenResult<{ message: PeerMessage; issuedAt: number }> {
  const sealed = openSealedObject(room, 'message', blob);
  if (!sealed.ok) return sealed;
  const { object: o, opened } = sealed.value;
  if (o.v !== VERSION) return { ok: false, reason: 'version' };
  if (o.t !== 'punch' && o.t !== 'bye') return { ok: false, reason: 'unknown_kind' };
  if (typeof o.k !== 'string' || !KEY.test(o.k) || !isMemberId(o.f) || !isMemberId(o.to)) return { ok: false, reason: 'malformed' };
  if (o.t === 'bye') return { ok: true, value: { message: { kind: 'bye', publicKey: Buffer.from(o.k, 'base64'), from: o.f, to: o.to }, issuedAt: opened.issuedAt } };
  const candidates = parseCandidates(o.c);
  const d = o.d;
  if (typeof o.s !== 'string' || !SESSION.test(o.s) || !candidates) return { ok: false, reason: 'malformed' };
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > MAX_START_DELAY_MS) return { ok: false, reason: 'malformed' };
  const message: PunchRequest = { kind: 'punch', publicKey: Buffer.from(o.k, 'base64'), from: o.f, to: o.to, session: o.s, candidates, startInMs: d };
  return { ok: true, value: { message, issuedAt: opened.issuedAt } };
}

/** Checks directed messages: binding to both ids, freshness, and at-most-once delivery. */
export class PeerMessageGuard {
  /** Nonces of accepted blobs, until the blobs would be stale anyway. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly room: RoomCredentials,
    private readonly maxSkewMs = 60_000,
  ) {}

  check(fromId: string, ourId: string, blob: string, now = Date.now()): OpenResult<PeerMessage> {
    const r = parse(this.room, blob);
    if (!r.ok) return r;
    const { message, issuedAt } = r.value;
    if (message.from !== fromId || message.to !== ourId) return { ok: false, reason: 'wrong_member_id' };
    if (Math.abs(issuedAt - now) > this.maxSkewMs) return { ok: false, reason: 'stale' };
    this.sweep(now);
    // The first 36 base64 characters hold version, purpose and the random 24-byte nonce.
    const id = blob.slice(0, 36);
    if (this.seen.has(id)) return { ok: false, reason: 'replayed' };
    this.seen.set(id, issuedAt + this.maxSkewMs);
    return { ok: true, value: message };
  }

  private sweep(now: number): void {
    for (const [blob, expires] of this.seen) if (expires < now) this.seen.delete(blob);
  }
}
