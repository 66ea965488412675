// The room's revocation list: keys (members' or admins') an admin has removed, under a version
// number, signed by an admin: {t:'revoke', r, v, keys, by, at, ch?, s}. A member holds the newest
// list it has verified; a newer one must keep every key of the one it replaces (a removal is for
// good: a list that drops a key is refused), so the order lists arrive in cannot un-remove anyone.
// Lists travel sealed between members (gossip.ts) and persist in the state directory.
import { formatKey } from '../../../shared/keys.js';
import { checkSigner, isKeyText, signStatement, type AdminSigner, type Authority, type Result } from './statements.js';

/** Keys one list may hold: what fits in one sealed message (about 47 bytes each, with room for an admin chain). */
export const MAX_REVOKED = 40;

export interface RevocationList {
  version: number;
  keys: string[];
  by: string;
  /** The signed statement itself, as it travels. */
  raw: Record<string, unknown>;
}

export function signRevocations(admin: AdminSigner, version: number, keys: readonly string[], now = Date.now()): Record<string, unknown> {
  if (keys.length > MAX_REVOKED) throw new Error(`a revocation list holds at most ${MAX_REVOKED} keys`);
  return signStatement({ t: 'revoke', r: admin.anchor, v: version, keys: [...keys], at: now, ...(admin.chain.length ? { ch: admin.chain } : {}) }, admin.privateKey);
}

/** Checks a list's form and signature (not its version: see RevocationStore.offer). */
export function checkRevocations(raw: unknown, auth: Authority): Result<RevocationList> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'malformed' };
  const o = raw as Record<string, unknown>;
  if (o.t !== 'revoke' || typeof o.v !== 'number' || !Number.isSafeInteger(o.v) || o.v < 1) return { ok: false, reason: 'malformed' };
  if (!Array.isArray(o.keys) || o.keys.length > MAX_REVOKED || !o.keys.every(isKeyText) || new Set(o.keys).size !== o.keys.length) return { ok: false, reason: 'malformed' };
  const signer = checkSigner(o, auth);
  if (!signer.ok) return signer;
  return { ok: true, value: { version: o.v, keys: o.keys as string[], by: signer.value, raw: o } };
}

/** The newest verified list, and what an offered list would change. */
export class RevocationStore {
  private current: RevocationList | undefined;
  private readonly revoked = new Set<string>();

  constructor(private readonly anchor: string) {}

  get version(): number {
    return this.current?.version ?? 0;
  }

  get list(): RevocationList | undefined {
    return this.current;
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
   * Takes a list when it verifies and is newer than ours; returns the keys it newly revokes.
   * Reasons: malformed, bad_signature, untrusted_signer, revoked_signer, other_room, replayed
   * (our own version again), older, shrinks (it lacks a key ours has).
   */
  offer(raw: unknown): Result<string[]> {
    const r = checkRevocations(raw, this.authority());
    if (!r.ok) return r;
    const list = r.value;
    if (list.version === this.version) return { ok: false, reason: 'replayed' };
    if (list.version < this.version) return { ok: false, reason: 'older' };
    if (!this.keys().every((k) => list.keys.includes(k))) return { ok: false, reason: 'shrinks' };
    const added = list.keys.filter((k) => !this.revoked.has(k));
    this.current = list;
    for (const k of added) this.revoked.add(k);
    return { ok: true, value: added };
  }

  /** The next list an admin issues: ours plus `key`, one version up. */
  next(admin: AdminSigner, key: string, now = Date.now()): Record<string, unknown> {
    const keys = this.revoked.has(key) ? this.keys() : [...this.keys(), key];
    return signRevocations(admin, this.version + 1, keys, now);
  }
}
