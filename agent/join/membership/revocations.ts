// The room's revocations: keys (members', admins', invites') an admin has removed, as a chain of
// versions, each an admin-signed delta: {t:'revoke', r, v, keys, prev?, by, at, ch?, s}, where
// `keys` are the keys version v adds and `prev` the hash of version v-1's statement (absent for
// v = 1). A member applies version v only on top of the v-1 it holds, so the revoked set only
// grows (a removal is for good) and any number of keys can be revoked over a room's life while
// each statement still fits in one sealed message. Statements travel sealed between members
// (gossip: room-membership.ts) and the chain persists in the state directory.
import { createHash } from 'node:crypto';
import { formatKey } from '../../../shared/keys.js';
import { checkSigner, isKeyText, signStatement, type AdminSigner, type Authority, type Result } from './statements.js';

/** Keys one version may add: what fits in one sealed message (about 47 bytes each, with room for an admin chain). */
export const MAX_REVOKED = 40;
/** Base64 of a SHA-256 digest. */
const HASH = /^[A-Za-z0-9+/]{43}=$/;

type Obj = Record<string, unknown>;

export interface RevocationStatement {
  version: number;
  /** The keys this version adds. */
  keys: string[];
  prev: string | undefined;
  by: string;
  /** The signed statement itself, as it travels. */
  raw: Obj;
}

/** What a statement's successor names as `prev`: the hash of the statement as it travels. */
export function revocationHash(raw: Obj): string {
  return createHash('sha256').update(`wgp2p revocation v1\0${JSON.stringify(raw)}`).digest('base64');
}

export function signRevocations(admin: AdminSigner, version: number, keys: readonly string[], prev: string | undefined, now = Date.now()): Obj {
  if (keys.length < 1 || keys.length > MAX_REVOKED) throw new Error(`a revocation adds 1 to ${MAX_REVOKED} keys`);
  return signStatement({ t: 'revoke', r: admin.anchor, v: version, keys: [...keys], ...(prev ? { prev } : {}), at: now, ...(admin.chain.length ? { ch: admin.chain } : {}) }, admin.privateKey);
}

/** A statement's form, without its signature or its place in the chain; undefined when malformed. */
function parseRevocation(raw: unknown): (Omit<RevocationStatement, 'by'> & { raw: Obj }) | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const o = raw as Obj;
  if (o.t !== 'revoke' || typeof o.v !== 'number' || !Number.isSafeInteger(o.v) || o.v < 1) return undefined;
  if (!Array.isArray(o.keys) || o.keys.length < 1 || o.keys.length > MAX_REVOKED || !o.keys.every(isKeyText) || new Set(o.keys).size !== o.keys.length) return undefined;
  // Version 1 starts the chain; every later one names its predecessor.
  if (o.v === 1 ? o.prev !== undefined : typeof o.prev !== 'string' || !HASH.test(o.prev)) return undefined;
  return { version: o.v, keys: o.keys as string[], prev: o.prev as string | undefined, raw: o };
}

/** Checks a statement's form and signature (not its place in the chain: see RevocationStore.offer). */
export function checkRevocations(raw: unknown, auth: Authority): Result<RevocationStatement> {
  const p = parseRevocation(raw);
  if (!p) return { ok: false, reason: 'malformed' };
  const signer = checkSigner(p.raw, auth);
  if (!signer.ok) return signer;
  return { ok: true, value: { ...p, by: signer.value } };
}

/** The chain of verified versions we hold, and what an offered statement would change. */
export class RevocationStore {
  private readonly chain: RevocationStatement[] = [];
  /** revocationHash of each held version, kept so gossip repeats cost no re-hashing. */
  private readonly hashes: string[] = [];
  private readonly revoked = new Set<string>();

  constructor(private readonly anchor: string) {}

  get version(): number {
    return this.chain.length;
  }

  /** The newest version's statement. */
  get latest(): RevocationStatement | undefined {
    return this.chain[this.chain.length - 1];
  }

  /** Every statement after `version`, oldest first: what a member holding `version` lacks. */
  since(version: number): Obj[] {
    return this.chain.slice(Math.max(0, version)).map((s) => s.raw);
  }

  /** The whole chain, as the state directory keeps it. */
  statements(): Obj[] {
    return this.since(0);
  }

  isRevoked(key: string | Buffer): boolean {
    return this.revoked.has(typeof key === 'string' ? key : formatKey(key));
  }

  keys(): string[] {
    return [...this.revoked];
  }

  /** The authority statements are checked under: our anchor and what we hold revoked. */
  authority(): Authority {
    return { anchor: this.anchor, isRevoked: (k) => this.revoked.has(k) };
  }

  /**
   * Takes the statement of the version after ours when it verifies and follows ours; returns the
   * keys it newly revokes. Reasons: malformed, bad_signature, untrusted_signer, revoked_signer,
   * other_room, replayed (our newest again), older (one we hold), conflict (another statement for
   * a version we hold, or one that does not follow ours), gap (beyond the version after ours).
   */
  offer(raw: unknown): Result<string[]> {
    const p = parseRevocation(raw);
    if (!p) return { ok: false, reason: 'malformed' };
    const held = this.chain[p.version - 1];
    const hash = revocationHash(p.raw);
    // The very statement we hold: no signature to check again (its signer may be revoked since).
    if (held && this.hashes[p.version - 1] === hash) return { ok: false, reason: p.version === this.version ? 'replayed' : 'older' };
    const r = checkRevocations(raw, this.authority());
    if (!r.ok) return r;
    if (held) return { ok: false, reason: 'conflict' };
    if (p.version > this.version + 1) return { ok: false, reason: 'gap' };
    if (this.version > 0 && p.prev !== this.hashes[this.version - 1]) return { ok: false, reason: 'conflict' };
    const added = r.value.keys.filter((k) => !this.revoked.has(k));
    this.chain.push(r.value);
    this.hashes.push(hash);
    for (const k of added) this.revoked.add(k);
    return { ok: true, value: added };
  }

  /**
   * Takes a stored chain (oldest first); returns how many versions verified. An old single-list
   * state (one statement, no `prev`) loads when it is version 1, the start of a chain.
   */
  load(stored: unknown): { applied: number; reason?: string } {
    const list = Array.isArray(stored) ? stored : [stored];
    for (const raw of list) {
      const r = this.offer(raw);
      if (!r.ok) return { applied: this.version, reason: r.reason };
    }
    return { applied: this.version };
  }

  /** The next version an admin issues: `keys` (not yet revoked) on top of ours. */
  next(admin: AdminSigner, keys: readonly string[], now = Date.now()): Obj {
    return signRevocations(admin, this.version + 1, keys.filter((k) => !this.revoked.has(k)), this.hashes[this.version - 1], now);
  }
}
