// A member's life in our room: a verified announcement makes it a WireGuard peer (pair preshared
// key, persistent keepalive) and starts punching toward it; a goodbye removes it at once; a member
// the server stops listing (it lost the server, or we reconnected) is kept while its path answers
// and dropped after ORPHAN_GRACE_MS without one. Removal undoes everything it set up.
import type { Logger } from '../../../shared/log.js';
import type { JoinClock, JoinEngine } from '../ports.js';
import type { PathKeeper } from '../paths/direct/path-keeper.js';
import type { PathArbiters } from '../paths/arbiter.js';
import type { RelayLinks } from '../paths/relay/relay-links.js';
import type { RelayPaths } from '../paths/relay/relay-paths.js';
import type { Bounce } from '../roles/bounce.js';
import { bounceBindAuth } from '../roles/bounce-auth.js';
import type { AnnouncementGuard } from './announcement.js';
import type { PeerMessageGuard } from './peer-message.js';
import type { Member, RoomMembers } from './room-members.js';
import { publicFirst } from '../nat/candidates.js';
import type { RoomMembership } from '../membership/room-membership.js';

/**
 * A member the server no longer lists (it left without a goodbye, or we reconnected and it is not
 * back yet) is kept while its path answers, and dropped once it has had none for this long.
 */
export const ORPHAN_GRACE_MS = 30_000;

export interface LifecycleContext {
  members: RoomMembers;
  guard: AnnouncementGuard;
  messages: PeerMessageGuard;
  engine: Pick<JoinEngine, 'addPeer' | 'removePeer'>;
  keepaliveSeconds: number;
  paths: PathKeeper;
  arbiters: PathArbiters;
  relayed: RelayPaths;
  links: RelayLinks;
  bounce: Bounce | undefined;
  /** We are a bounce ourselves (then other bounces are not our relays). */
  weBounce: boolean;
  dualStack: boolean;
  /** Our member id on the current connection, and the last one we had (bounces know us by it). */
  memberId(): string | undefined;
  lastMemberId(): string | undefined;
  clock: JoinClock;
  log: Logger;
  count(what: string): void;
  /** Members or their addresses changed: routing must follow. */
  membersChanged(): void;
  /** In a room with admins: who is admitted (membership/). */
  membership?: RoomMembership;
}

export class MemberLifecycle {
  private readonly orphanSince = new Map<Member, number>();
  /** When we last reached each member on a path of our own. */
  private readonly pathSeenAt = new Map<Member, number>();
  /** We have had a member list: from now on we see every claim appear. */
  private listed = false;

  constructor(private readonly c: LifecycleContext) {}

  /** The keepalive members added from now on get (a live config reload). */
  setKeepalive(seconds: number): void {
    this.c.keepaliveSeconds = seconds;
  }

  /** A member's announcement from the server; the member, when it verifies and fits. */
  onAnnouncement(memberId: string, blob: string, historic = false): Member | undefined {
    const c = this.c;
    const r = c.guard.check(memberId, blob);
    if (!r.ok) {
      c.count('announce_rejected');
      c.count(`announce_rejected_${r.reason}`);
      c.log.warn('ignoring an announcement that does not verify', { memberId, reason: r.reason });
      return undefined;
    }
    const admitted = c.membership?.admit(r.value);
    if (admitted && !admitted.ok) {
      c.guard.forget(r.value.publicKey); // else the guard would remember every refused key
      c.count('announce_refused');
      c.count(`announce_refused_${admitted.reason}`);
      c.log.debug('ignoring an announcement of a key not admitted to the room', { memberId, name: r.value.name, reason: admitted.reason });
      const known = c.members.get(r.value.publicKey);
      if (known) this.remove(known, `no longer admitted (${admitted.reason})`);
      return undefined;
    }
    // Claims in our first member list predate us; any later one we date ourselves (room-address.ts).
    const up = c.members.upsert(r.value, historic ? undefined : c.clock.wallNow());
    if (!up) {
      c.guard.forget(r.value.publicKey); // else the guard would remember every refused key
      c.count('announce_rejected');
      c.count('announce_rejected_room_full');
      return undefined;
    }
    if (up.replaced) this.remove(up.replaced, 'its connection now announces another key');
    const m = up.member;
    this.orphanSince.delete(m);
    this.trackBounce(m);
    if (up.isNew) {
      c.engine.addPeer(m.publicKey, m.keys.presharedKey, c.keepaliveSeconds);
      c.log.info('member joined', { name: m.name, address: m.address, publicKey: m.key, candidates: m.candidates.length, nat: m.nat });
    }
    if (up.candidatesChanged) c.paths.punch(m, up.isNew ? 'new member' : 'candidates changed', true);
    c.membership?.seen(m, r.value.revocations ?? 0);
    return m;
  }

  /** The server's member list (after our join): members not on it get the orphan grace. */
  onMemberList(list: readonly { id: string; announce: string }[]): number {
    const present = new Set<Member>();
    const historic = !this.listed;
    this.listed = true;
    for (const info of list) {
      const member = this.onAnnouncement(info.id, info.announce, historic);
      if (member) present.add(member);
    }
    const now = this.c.clock.now();
    for (const member of this.c.members.all()) if (!present.has(member) && !this.orphanSince.has(member)) this.orphanSince.set(member, now);
    return present.size;
  }

  /** The server says the member left; without a goodbye it may only have lost the server. */
  onMemberLeft(memberId: string): void {
    const member = this.c.members.byMember(memberId);
    if (!member) return;
    const now = this.c.clock.now();
    if (this.pathAnswers(member, now)) {
      if (!this.orphanSince.has(member)) this.orphanSince.set(member, now);
      this.c.log.info('member lost the signal server; keeping its link while it answers', { name: member.name });
    } else {
      this.remove(member, 'left the room');
    }
  }

  /** A sealed message from another member: a punch request, a goodbye or a membership statement. */
  onPeerMessage(fromId: string, blob: string): void {
    const c = this.c;
    const ourId = c.memberId();
    if (!ourId) return;
    const r = c.messages.check(fromId, ourId, blob);
    if (!r.ok) {
      c.count('message_rejected');
      c.count(`message_rejected_${r.reason}`);
      return;
    }
    const m = c.members.get(r.value.publicKey);
    if (!m || m.memberId !== fromId) {
      c.count('message_rejected');
      c.count('message_rejected_unknown_member');
      return;
    }
    if (r.value.kind === 'bye') return this.remove(m, 'said goodbye');
    if (r.value.kind === 'membership') {
      if (c.membership) c.membership.onStatement(m, r.value.statement);
      else c.count('message_rejected_not_admin_room');
      return;
    }
    c.paths.onPunchRequest(m, r.value.candidates);
  }

  /**
   * A member that relays for the room is one of our relay links (bound with our pair key). Not for
   * a bounce: it is reachable itself, and a DATA from another bounce must mean "relay this", never
   * "this was relayed to you" (the two look alike on the wire).
   */
  private trackBounce(m: Member): void {
    const c = this.c;
    if (!m.bounce || c.weBounce) {
      c.links.remove(m.key, 'no longer a bounce');
      return;
    }
    const ordered = publicFirst(m.candidates);
    const targets = ordered.map((x) => x.endpoint).filter((e) => e.family === 4 || c.dualStack);
    c.links.upsert(m.key, 'bounce', m.name, targets, () => {
      const id = c.lastMemberId();
      return id ? { id, auth: bounceBindAuth(m.keys.relayKey, id) } : undefined;
    });
  }

  /** We reach `m` on a path of our own: direct, or a relay that answers. */
  pathAnswers(m: Member, now: number): boolean {
    return this.c.arbiters.hasDirect(m) || this.c.relayed.answering(m, now);
  }

  /** Keeps the orphan grace: an orphan without a path for ORPHAN_GRACE_MS goes. */
  tick(m: Member, now: number): void {
    if (this.pathAnswers(m, now)) this.pathSeenAt.set(m, now);
    const orphan = this.orphanSince.get(m);
    if (orphan !== undefined && now - Math.max(orphan, this.pathSeenAt.get(m) ?? -Infinity) > ORPHAN_GRACE_MS) this.remove(m, 'gone from the room, and its path too');
  }

  remove(m: Member, reason: string): void {
    const c = this.c;
    c.members.remove(m);
    c.guard.forget(m.publicKey);
    c.relayed.forget(m);
    c.bounce?.forget(m.memberId);
    this.orphanSince.delete(m);
    this.pathSeenAt.delete(m);
    c.membership?.forget(m);
    if (m.bounce) c.links.remove(m.key, 'left the room');
    c.engine.removePeer(m.publicKey);
    c.log.info('member removed', { name: m.name, address: m.address, reason });
    c.membersChanged();
  }
}
