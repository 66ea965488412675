// Membership control in a room with admins (README, "Membership control"): which announced keys
// we accept (an admin-signed membership, not revoked), what we announce ourselves, the revocation
// chain (applied at once, persisted, the versions a member lacks passed on when it announces an
// older one), and on an admin's agent the turning of invite redemptions into memberships
// (counting each invite's uses) and `wgp2p remove`. A room without admins has none of this (the agent gets no RoomMembership).
import { formatKey } from '../../../shared/keys.js';
import type { Logger } from '../../../shared/log.js';
import type { Announcement } from '../room/announcement.js';
import type { Member, RoomMembers } from '../room/room-members.js';
import { MAX_REVOKED, RevocationStore } from './revocations.js';
import { checkMembership, checkRedemption, checkSigner, isKeyText, signMembership, signStatement, type AdminSigner, type Membership, type Result } from './statements.js';

/** Revocation statements sent to one member at a time: a long chain goes in batches paced by its
 * announcements (each asks for more), within the server's per-connection burst. */
const MAX_PASS_ON = 16;

/** What a joiner's `wgp2p join` says when an admin refuses its invite, by the refusal's reason. */
const REFUSALS = new Map([['used_up', 'the invite is used up'], ['expired', 'the invite has expired'], ['revoked', 'the invite was revoked']]);

export interface MembershipConfig {
  /** The room's anchor: the first admin's public key. */
  anchor: string;
  /** Our own membership statement, once an admin signed it. */
  membership?: Record<string, unknown>;
  /** The invite we redeem until then. */
  invite?: { key: Buffer; grant: Record<string, unknown> };
  /** The revocation chain, oldest first (an old state's single list: one statement). */
  revocations?: Record<string, unknown>[] | Record<string, unknown>;
  /** On an admin's agent: its key and chain, and the uses of its invites so far. */
  admin?: AdminSigner;
  redeemed?: Record<string, string[]>;
  admitted?: Record<string, string>;
}

/** What changed and belongs in the state directory (membership/room-state.ts). */
export type MembershipPatch = Pick<MembershipConfig, 'membership' | 'revocations' | 'redeemed' | 'admitted'>;

export interface MembershipContext {
  self: Buffer;
  /** Our name in the room (an admin signs its own membership under it). */
  name: string;
  members: RoomMembers;
  /** A signed statement to this member (id and key: the pair MAC needs the key), sealed (peer-message.ts). */
  send(to: { memberId: string; publicKey: Buffer }, statement: Record<string, unknown>): void;
  announceUpdate(): void;
  /** Drops a member at once (lifecycle.ts). */
  drop(m: Member, reason: string): void;
  persist(patch: MembershipPatch): void;
  /** An admin refused our invite: joining with it cannot succeed. */
  refused(reason: string): void;
  wallNow(): number;
  log: Logger;
  count(what: string): void;
}

export class RoomMembership {
  readonly store: RevocationStore;
  private ours: Record<string, unknown> | undefined;
  /** Why each member is one (who admitted it). */
  private readonly admissions = new Map<string, Membership>();
  /** The revocation version each member last announced, and the one we last sent it. */
  private readonly theirVersion = new Map<string, number>();
  private readonly sentVersion = new Map<string, number>();
  private readonly redeemed: Record<string, string[]>;
  private readonly admitted: Record<string, string>;

  constructor(
    private readonly o: MembershipConfig,
    private readonly c: MembershipContext,
  ) {
    this.store = new RevocationStore(o.anchor);
    if (o.revocations) {
      const r = this.store.load(o.revocations);
      if (r.reason === 'gap') c.log.warn('the stored revocation list is of the old single-list form past version 1; ignored: members pass the chain on again', { versions: r.applied });
      else if (r.reason) c.log.warn('the stored revocation chain does not verify past a version; the rest is ignored', { versions: r.applied, reason: r.reason });
    }
    this.redeemed = { ...o.redeemed };
    this.admitted = { ...o.admitted };
    const own = o.membership && checkMembership(o.membership, formatKey(c.self), this.store.authority());
    if (own?.ok) this.ours = o.membership;
    else if (o.admin) this.ours = signMembership(o.admin, { key: c.self, name: c.name }, c.wallNow());
    else if (o.membership) c.log.warn('our stored membership does not verify (revoked?); joining with the invite, if any');
  }

  get isAdmin(): boolean {
    return !!this.o.admin;
  }

  /** Admitted, or still redeeming an invite. */
  get admittedSelf(): boolean {
    return !!this.ours;
  }

  /** What our announcement carries: our membership, else the redemption of our invite. */
  proof(): Record<string, unknown> | undefined {
    if (this.ours) return { ms: this.ours };
    const i = this.o.invite;
    if (!i) return undefined;
    return { iv: { g: i.grant, p: signStatement({ t: 'redeem', k: formatKey(this.c.self) }, i.key) } };
  }

  /** Whether a verified announcement's key is a member; an admin's agent admits invite redemptions here. */
  admit(a: Announcement): Result<Membership> {
    const key = formatKey(a.publicKey);
    if (this.store.isRevoked(key)) return { ok: false, reason: 'revoked' };
    const mp = a.membership;
    let r: Result<Membership>;
    if (mp && mp.ms !== undefined) r = checkMembership(mp.ms, key, this.store.authority());
    else if (mp && mp.iv !== undefined) r = this.o.admin ? this.redeem(a, key, mp.iv, this.o.admin) : { ok: false, reason: 'pending_invite' };
    else r = { ok: false, reason: 'not_admitted' };
    if (r.ok) this.admissions.set(key, r.value);
    return r;
  }

  /** A redemption reached an admin's agent: within the invite's uses, it becomes a membership. */
  private redeem(a: Announcement, key: string, iv: unknown, admin: AdminSigner): Result<Membership> {
    const now = this.c.wallNow();
    const g = checkRedemption(iv, key, this.store.authority(), now);
    if (!g.ok) {
      if (REFUSALS.has(g.reason)) this.refuse(a, g.reason);
      return g;
    }
    const used = this.redeemed[g.value.id] ?? [];
    if (!used.includes(key)) {
      if (used.length >= g.value.uses) {
        this.refuse(a, 'used_up');
        return { ok: false, reason: 'used_up' };
      }
      this.redeemed[g.value.id] = [...used, key];
    }
    const name = g.value.name ?? a.name;
    const statement = signMembership(admin, { key: a.publicKey, name, invite: g.value.id }, now);
    this.admitted[key] = name;
    this.c.persist({ redeemed: this.redeemed, admitted: this.admitted });
    this.c.send(a, statement);
    this.c.count('invites_redeemed');
    this.c.log.info('admitted a member with an invite', { name, publicKey: key, invite: g.value.id, uses: `${this.redeemed[g.value.id]!.length}/${g.value.uses}` });
    return { ok: true, value: { key, name, by: formatKey(Buffer.from(statement.by as string, 'base64')), at: now, invite: g.value.id } };
  }

  private refuse(a: Announcement, why: string): void {
    const admin = this.o.admin!;
    this.c.count(`invites_refused_${why}`);
    this.c.log.warn('refused an invite', { name: a.name, publicKey: formatKey(a.publicKey), why });
    this.c.send(a, signStatement({ t: 'refuse', r: admin.anchor, k: formatKey(a.publicKey), why, at: this.c.wallNow(), ...(admin.chain.length ? { ch: admin.chain } : {}) }, admin.privateKey));
  }

  /**
   * A member we accepted announced the revocation version it holds: an older one gets the versions
   * it lacks, in order, one message each (a batch at a time; its next announcement asks for more).
   */
  seen(m: Member, version: number): void {
    this.theirVersion.set(m.key, version);
    // Nothing newer, or what we sent is still on its way.
    if (version >= this.store.version || (this.sentVersion.get(m.key) ?? 0) > version) return;
    this.c.count('revocations_passed_on');
    this.passOn(m, version);
  }

  /** Sends `m` the versions after `from`, in order, one message each. */
  private passOn(m: Member, from: number): void {
    const batch = this.store.since(from).slice(0, MAX_PASS_ON);
    if (batch.length) this.sentVersion.set(m.key, from + batch.length);
    for (const st of batch) this.c.send(m, st);
  }

  forget(m: Member): void {
    this.admissions.delete(m.key);
    this.theirVersion.delete(m.key);
    this.sentVersion.delete(m.key);
  }

  /** A signed statement from a member: our membership, a refusal of our invite, or a revocation list. */
  onStatement(from: Member, st: Record<string, unknown>): void {
    const c = this.c;
    if (st.t === 'member') {
      const r = checkMembership(st, formatKey(c.self), this.store.authority());
      if (!r.ok) return this.refused('membership', r.reason);
      if (this.ours) return;
      this.ours = st;
      c.persist({ membership: st });
      c.count('membership_received');
      c.log.info('admitted to the room', { name: r.value.name, by: r.value.by });
      c.announceUpdate();
    } else if (st.t === 'refuse') {
      const r = checkSigner(st, this.store.authority());
      if (!r.ok || st.k !== formatKey(c.self) || typeof st.why !== 'string' || this.ours) return this.refused('refusal', r.ok ? 'other_key' : r.reason);
      c.count('invite_refused');
      c.refused(REFUSALS.get(st.why) ?? `the invite was refused (${st.why.slice(0, 40)})`);
    } else if (st.t === 'revoke') {
      this.offer(st, from.name);
    } else {
      this.refused('statement', 'unknown_kind');
    }
  }

  private refused(what: string, reason: string): void {
    this.c.count(`${what}_refused`);
    this.c.count(`${what}_refused_${reason}`);
  }

  /**
   * A revocation statement from `source`: when it is the next version and genuine, applied at once
   * and the chain kept. Its issuer sends it to every member (`toAll`); others pass it on to members
   * that announce an older version (seen), so members that get it at once do not send it to each other.
   */
  offer(raw: Record<string, unknown>, source: string, toAll = false): boolean {
    const c = this.c;
    const r = this.store.offer(raw);
    if (!r.ok) {
      this.refused('revocation', r.reason);
      c.log.warn('refused a revocation statement', { from: source, version: raw.v, reason: r.reason });
      return false;
    }
    c.count('revocations_applied');
    c.persist({ revocations: this.store.statements() });
    c.log.info('revocation list applied', { version: this.store.version, from: source, revoked: r.value });
    for (const key of r.value) {
      const m = c.members.get(Buffer.from(key, 'base64'));
      if (m) c.drop(m, 'removed by an admin');
    }
    // What each member holds or is already on its way to it, then the new version.
    if (toAll) for (const m of c.members.all()) this.passOn(m, Math.max(this.theirVersion.get(m.key) ?? 0, this.sentVersion.get(m.key) ?? 0));
    c.announceUpdate();
    return true;
  }

  /** `wgp2p remove NAME|KEY` on an admin's agent: a new signed list, applied and sent to every member. */
  remove(ref: string): { publicKey: string; name: string | undefined; version: number } {
    const admin = this.o.admin;
    if (!admin) {
      this.c.count('remove_refused_not_admin');
      throw new Error('this agent holds no admin key for the room: only an admin can remove members');
    }
    const m = this.c.members.find(ref);
    const byName = Object.entries(this.admitted).find(([, n]) => n === ref)?.[0];
    const key = m?.key ?? byName ?? (isKeyText(ref) ? ref : undefined);
    if (!key) throw new Error(`no member "${ref}" (give a name, address or public key)`);
    if (key === formatKey(this.c.self) || key === admin.anchor) throw new Error('an admin cannot remove itself or the room\'s anchor');
    if (this.store.isRevoked(key)) throw new Error(`${ref} is already removed`);
    this.revoke(admin, [key]);
    return { publicKey: key, name: m?.name ?? this.admitted[key], version: this.store.version };
  }

  /** Revokes `keys` for good: new versions of at most MAX_REVOKED keys each, applied and sent to every member. */
  revoke(admin: AdminSigner, keys: readonly string[]): void {
    const fresh = [...new Set(keys)].filter((k) => !this.store.isRevoked(k));
    for (let i = 0; i < fresh.length; i += MAX_REVOKED) {
      if (!this.offer(this.store.next(admin, fresh.slice(i, i + MAX_REVOKED), this.c.wallNow()), 'ourselves', true)) throw new Error('the new revocation list did not apply');
    }
  }

  /** `wgp2p members`: who is in, who admitted them, and what is revoked. */
  list(): Record<string, unknown> {
    const members = this.c.members.all().map((m) => ({ name: m.name, publicKey: m.key, address: m.address, admittedBy: this.admissions.get(m.key)?.by, invite: this.admissions.get(m.key)?.invite }));
    return {
      anchor: this.o.anchor,
      admin: this.isAdmin,
      admitted: this.admittedSelf,
      members,
      revocations: { version: this.store.version, keys: this.store.keys().map((k) => ({ publicKey: k, name: this.admitted[k] })) },
      ...(this.isAdmin ? { invites: Object.entries(this.redeemed).map(([id, keys]) => ({ id, used: keys.length })) } : {}),
    };
  }
}

/** The agent's options for a room with admins: the config, and where changes and refusals go. */
export interface MembershipOptions extends MembershipConfig {
  persist?(patch: MembershipPatch): void;
  refused?(reason: string): void;
}

/** Builds the agent's RoomMembership; `c` reaches parts the agent makes later, so it is read lazily. */
export function roomMembership(o: MembershipOptions | undefined, c: Omit<MembershipContext, 'persist' | 'refused'>): RoomMembership | undefined {
  if (!o) return undefined;
  return new RoomMembership(o, {
    ...c,
    persist: (patch) => o.persist?.(patch),
    refused: (reason) => {
      c.log.error(`cannot join: ${reason}`);
      o.refused?.(reason);
    },
  });
}
