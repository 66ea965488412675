// Our side of the signalling conversation for one room: join on every welcome (re-announcing us),
// announcement refreshes and updates, punch requests and goodbyes to members, and the dispatch of
// what the server sends to the parts that own it.
import { randomBytes } from 'node:crypto';
import type { ServerMessage, WelcomeMessage } from '../../../shared/signal/protocol.js';
import { roomJoinProof, type RoomCredentials } from '../../../shared/signal/room-key.js';
import type { Logger } from '../../../shared/log.js';
import { MAX_CANDIDATES, type Candidate } from '../nat/candidates.js';
import type { NatInfo } from '../room/announcement.js';
import { sealAnnouncement } from '../room/announcement.js';
import type { MemberLifecycle } from '../room/lifecycle.js';
import { sealBye, sealMembershipMessage, sealPunchRequest } from '../room/peer-message.js';
import type { RoomMembership } from '../membership/room-membership.js';
import type { Member } from '../room/room-members.js';
import type { ServerSeen } from '../paths/direct/birthday-attest.js';
import type { JoinClock, SignallingPort } from '../ports.js';

export interface Self {
  publicKey: Buffer;
  privateKey: Uint8Array;
  name: string;
  /** Since when we announce our name and routes (wall ms): our claim to them. */
  since: number;
  bounce?: boolean;
  hub?: boolean;
  /** What we announce with --advertise-routes and --advertise-exit-node. */
  routes?: string[];
  exitNode?: boolean;
  exitNode6?: boolean;
}

export interface DispatchContext {
  room: RoomCredentials;
  self: Self;
  signal: SignallingPort;
  lifecycle: MemberLifecycle;
  clock: JoinClock;
  log: Logger;
  /** Our current room address (and since when we hold it) and candidates, as announced. */
  address(): { address: string; since: number };
  candidates(): Candidate[];
  nat(): NatInfo;
  /** The welcome's offers (STUN port, relays) and what follows from a (re)connection. */
  welcomed(w: WelcomeMessage): void;
  /** Members or their addresses changed: routing must follow. */
  membersChanged(): void;
  /** The server says the WebSocket relay does not reach `memberId` now. */
  unreachableOverWs(memberId: string): void;
  /** In a room with admins: our membership proof and revocation version go in our announcement. */
  membership?(): RoomMembership | undefined;
  /** Where the server says it sees each member (birthday punching checks targets against it). */
  seen?: ServerSeen;
}

export class RoomSignalling {
  /** One signal server round trip (join to member list), once measured. */
  rttMs: number | undefined;
  lastAnnounceAt = 0;
  private joinSentAt = 0;
  /** What our join proof signs on the current connection (its welcome's nonce). */
  private joinNonce = '';

  constructor(private readonly c: DispatchContext) {}

  /** Who we announce ourselves as. */
  get self(): Self {
    return this.c.self;
  }

  private announcement(memberId: string): string {
    const c = this.c;
    const candidates = c.candidates().slice(0, MAX_CANDIDATES);
    const own = c.address();
    const ms = c.membership?.();
    const admission = ms && { membership: ms.proof(), revocations: ms.store.version };
    return sealAnnouncement(c.room, { publicKey: c.self.publicKey, memberId, name: c.self.name, address: own.address, addressSince: own.since, claimsSince: c.self.since, candidates, nat: c.nat(), bounce: c.self.bounce, hub: c.self.hub, routes: c.self.routes, exitNode: c.self.exitNode, exitNode6: c.self.exitNode6, ...admission }, c.self.privateKey);
  }

  onWelcome(w: WelcomeMessage): void {
    this.c.log.info('connected to the signal server', { memberId: w.id, serverId: w.serverId, seenAs: w.yourAddress, relayPort: w.relayPort, wsRelay: w.wsRelay });
    this.joinNonce = w.nonce;
    this.c.welcomed(w);
    this.sendJoin();
  }

  sendJoin(): void {
    const id = this.c.signal.memberId;
    if (!id) return;
    this.joinSentAt = this.c.clock.now();
    this.lastAnnounceAt = this.joinSentAt;
    this.c.signal.send({ type: 'join', room: this.c.room.roomId, announce: this.announcement(id), ...roomJoinProof(this.c.room, this.joinNonce), ref: 'join' });
  }

  announceUpdate(): void {
    const id = this.c.signal.memberId;
    this.lastAnnounceAt = this.c.clock.now();
    if (id) this.c.signal.send({ type: 'update', room: this.c.room.roomId, announce: this.announcement(id) });
  }

  /** A punch request to `m` through the server (see PathKeeper.punch); dropped while offline. */
  requestPunch(m: Member, startInMs: number): void {
    const from = this.c.signal.memberId;
    if (!from) return;
    const data = sealPunchRequest(this.c.room, {
      publicKey: this.c.self.publicKey,
      from,
      to: m.memberId,
      session: randomBytes(9).toString('base64url'),
      candidates: this.c.candidates().slice(0, MAX_CANDIDATES),
      startInMs,
    }, m.keys.messageKey);
    this.c.signal.send({ type: 'send', room: this.c.room.roomId, to: m.memberId, data });
  }

  /** A signed membership statement (membership/) to one member, sealed; dropped while offline. */
  sendStatement(to: string, statement: Record<string, unknown>, messageKey: Uint8Array): void {
    const from = this.c.signal.memberId;
    if (!from) return;
    this.c.signal.send({ type: 'send', room: this.c.room.roomId, to, data: sealMembershipMessage(this.c.room, { publicKey: this.c.self.publicKey, from, to, statement }, messageKey) });
  }

  /** Goodbyes, so members drop us at once instead of waiting for our path to die. */
  sayGoodbye(members: readonly Member[]): void {
    const ourId = this.c.signal.memberId;
    if (!ourId) return;
    for (const m of members) {
      this.c.signal.send({ type: 'send', room: this.c.room.roomId, to: m.memberId, data: sealBye(this.c.room, { publicKey: this.c.self.publicKey, from: ourId, to: m.memberId }, m.keys.messageKey) });
    }
  }

  onServerMessage(m: ServerMessage): void {
    const c = this.c;
    if ('room' in m && m.room !== c.room.roomId) return;
    switch (m.type) {
      case 'members': {
        this.rttMs = c.clock.now() - this.joinSentAt;
        c.seen?.list(m.members);
        // After a reconnect, members we knew may not be back yet: the lifecycle gives them time.
        const present = c.lifecycle.onMemberList(m.members);
        c.log.info('in the room', { members: present });
        c.membersChanged();
        break;
      }
      case 'member-joined':
      case 'member-update':
        c.seen?.record(m.id, m.seen);
        c.lifecycle.onAnnouncement(m.id, m.announce);
        c.membersChanged();
        break;
      case 'member-left':
        c.seen?.forget(m.id);
        c.lifecycle.onMemberLeft(m.id);
        break;
      case 'message':
        c.lifecycle.onPeerMessage(m.from, m.data);
        break;
      case 'error':
        if (m.code === 'NO_SUCH_MEMBER' && m.member !== undefined) {
          // The WebSocket relay does not reach that member now: move it to another path.
          c.unreachableOverWs(m.member);
          break;
        }
        c.log.warn('signal server error', { code: m.code, error: m.message, ref: m.ref });
        if (m.code === 'NOT_IN_ROOM') this.sendJoin();
        break;
      default:
        break;
    }
  }
}
