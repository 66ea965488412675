// The members of our room as the agent knows them, keyed by the public key inside their verified
// announcements (never by what the server says about them); the server's member id is only a
// mailing address for directed messages. Also looks members up by disco pair id, name or address.
import { formatKey } from '../../../shared/keys.js';
import type { Announcement, NatInfo } from './announcement.js';
import { sameCandidates, type Candidate } from '../nat/candidates.js';
import type { PairKeys } from './pair-keys.js';
import type { PathFinder } from '../paths/direct/punch.js';

export interface Member {
  key: string;
  publicKey: Buffer;
  memberId: string;
  name: string;
  /** The address it claims; `routed` is set only while it owns it (see room-address.ts). */
  address: string;
  /** Since when it says it holds `address` (wall ms; a claim without a time is the weakest). */
  addressSince: number;
  /** When we first saw it claim `address` (wall ms); undefined if it did before we joined. */
  claimSeenAt: number | undefined;
  /** Since when it says it announces its name and routes (wall ms): a contested name or prefix goes to the earliest. */
  claimsSince: number;
  /** When we first saw its name and routes as they are (wall ms); undefined if before we joined. */
  claimsSeenAt: number | undefined;
  routed: string | undefined;
  candidates: Candidate[];
  nat: NatInfo;
  /** It relays for the room (announced `--bounce`). */
  bounce: boolean;
  /** It is a classic hub (announced `--hub`). */
  hub: boolean;
  /** LAN prefixes it advertises (canonical IPv4 CIDRs) and whether it offers to be an exit node. */
  routes: string[];
  exitNode: boolean;
  /** Its exit offer carries IPv6 too. */
  exitNode6: boolean;
  /** We reach it through the hub: no direct path and no relay (set by the path arbiter; its address then routes to the hub). */
  viaHub: boolean;
  keys: PairKeys;
  finder: PathFinder;
}

export interface Upserted {
  member: Member;
  isNew: boolean;
  candidatesChanged: boolean;
  addressChanged: boolean;
  /**
   * The member its connection announced before, under another key: one connection is one member,
   * so the caller removes it (else one insider could add members without end by changing keys).
   */
  replaced: Member | undefined;
}

/** The claim time of an announcement without one: later than any real one, so it loses every contest. */
const NO_CLAIM_TIME = Number.MAX_SAFE_INTEGER;

/** More members than this are refused: the server's default cap is 64; a room this big is a flood. */
export const MAX_MEMBERS = 1024;

export class RoomMembers {
  private readonly byKey = new Map<string, Member>();
  private readonly byMemberId = new Map<string, Member>();
  private readonly byPairId = new Map<string, Member>();

  constructor(private readonly create: (a: Announcement) => Omit<Member, 'memberId' | 'name' | 'address' | 'addressSince' | 'claimSeenAt' | 'claimsSince' | 'claimsSeenAt' | 'candidates' | 'nat' | 'bounce' | 'hub' | 'routes' | 'exitNode' | 'exitNode6' | 'viaHub' | 'routed'>) {}

  all(): Member[] {
    return [...this.byKey.values()];
  }

  get size(): number {
    return this.byKey.size;
  }

  get(publicKey: Buffer): Member | undefined {
    return this.byKey.get(formatKey(publicKey));
  }

  byMember(memberId: string): Member | undefined {
    return this.byMemberId.get(memberId);
  }

  byPair(pairId: Buffer): Member | undefined {
    return this.byPairId.get(pairId.toString('hex'));
  }

  /** A member by name, room address or base64 public key. */
  find(ref: string): Member | undefined {
    return this.byKey.get(ref) ?? this.all().find((m) => m.name === ref || m.address === ref);
  }

  /**
   * Records a verified announcement; undefined when the room is full (MAX_MEMBERS). `seenAt` is
   * now (wall ms) for an announcement we see appear, undefined for one already in the room when we
   * joined; it dates a new address claim, and a new name or route list (see claimTime in room-address.ts).
   */
  upsert(a: Announcement, seenAt?: number): Upserted | undefined {
    const key = formatKey(a.publicKey);
    let m = this.byKey.get(key);
    const isNew = !m;
    const previous = this.byMemberId.get(a.memberId);
    const replaced = previous && previous !== m ? previous : undefined;
    if (replaced) this.remove(replaced);
    if (!m) {
      if (this.byKey.size >= MAX_MEMBERS) return undefined;
      m = { ...this.create(a), memberId: a.memberId, name: a.name, address: a.address, addressSince: NO_CLAIM_TIME, claimSeenAt: undefined, claimsSince: NO_CLAIM_TIME, claimsSeenAt: undefined, candidates: a.candidates, nat: a.nat, bounce: a.bounce === true, hub: a.hub === true, routes: a.routes ?? [], exitNode: a.exitNode === true, exitNode6: a.exitNode6 === true, viaHub: false, routed: undefined };
      this.byKey.set(key, m);
      this.byPairId.set(m.keys.pairId.toString('hex'), m);
    }
    const candidatesChanged = isNew || !sameCandidates(m.candidates, a.candidates);
    const addressChanged = !isNew && m.address !== a.address;
    if (isNew || addressChanged) m.claimSeenAt = seenAt;
    if (isNew || m.name !== a.name || m.routes.join() !== (a.routes ?? []).join()) m.claimsSeenAt = seenAt;
    if (m.memberId !== a.memberId && this.byMemberId.get(m.memberId) === m) this.byMemberId.delete(m.memberId);
    Object.assign(m, { memberId: a.memberId, name: a.name, address: a.address, addressSince: a.addressSince ?? NO_CLAIM_TIME, claimsSince: a.claimsSince ?? NO_CLAIM_TIME, candidates: a.candidates, nat: a.nat, bounce: a.bounce === true, hub: a.hub === true, routes: a.routes ?? [], exitNode: a.exitNode === true, exitNode6: a.exitNode6 === true });
    this.byMemberId.set(a.memberId, m);
    return { member: m, isNew, candidatesChanged, addressChanged, replaced };
  }

  remove(m: Member): void {
    this.byKey.delete(m.key);
    this.byPairId.delete(m.keys.pairId.toString('hex'));
    if (this.byMemberId.get(m.memberId) === m) this.byMemberId.delete(m.memberId);
  }
}
