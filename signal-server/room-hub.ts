// Rooms and the fan-out between their members. Knows nothing about sockets: a member is anything
// that can take a prepared frame. Room ids and announcements are opaque to the server.
import { encodeMessage, type ErrorCode, type ServerMessage, type ServerMessageType } from '../shared/signal/index.js';
import type { Limits } from './config.js';

/** A message serialised once, so fan-out to N members costs one JSON.stringify. */
export interface PreparedFrame {
  type: ServerMessageType;
  bytes: Buffer;
}

export function prepare(message: ServerMessage): PreparedFrame {
  return { type: message.type, bytes: Buffer.from(encodeMessage(message)) };
}

export interface HubMember {
  readonly id: string;
  /** Its client's address groups (connection-gate.ts): rooms are capped per address and network. */
  readonly origin?: { host: string; subnet: string };
  /** Rooms this member is in (kept by the hub). */
  readonly rooms: Set<string>;
  /** The public IP we observed for it (protocol.ts Seen), told to its room with its announcement. */
  readonly seen?: string;
  deliver(frame: PreparedFrame): void;
}

function seenOf(member: HubMember): { seen?: string } {
  return member.seen === undefined ? {} : { seen: member.seen };
}

export interface HubError {
  code: ErrorCode;
  message: string;
}

interface Entry {
  member: HubMember;
  announce: string;
}

type HubLimits = Pick<Limits, 'maxMembersPerRoom' | 'maxRooms' | 'maxRoomsPerConnection' | 'maxRoomsPerIp' | 'maxRoomsPerSubnet'>;

export class RoomHub {
  private readonly rooms = new Map<string, Map<string, Entry>>();
  private memberships = 0;
  /** Per address group ("ip " + host, "net " + subnet): its rooms, each with its members there. */
  private readonly groupRooms = new Map<string, Map<string, number>>();

  constructor(private readonly limits: HubLimits) {}

  private groupsOf(member: HubMember): [key: string, limit: number][] {
    const o = member.origin;
    return o ? [[`ip ${o.host}`, this.limits.maxRoomsPerIp], [`net ${o.subnet}`, this.limits.maxRoomsPerSubnet]] : [];
  }

  /** ADDRESS_LIMIT when joining `roomId` would put the member's address or network over its room cap. */
  private groupRefusal(member: HubMember, roomId: string): HubError | undefined {
    for (const [key, limit] of this.groupsOf(member)) {
      const rooms = this.groupRooms.get(key);
      if (!rooms?.has(roomId) && (rooms?.size ?? 0) >= limit) {
        return { code: 'ADDRESS_LIMIT', message: `your ${key.startsWith('ip') ? 'address' : 'network'} is in ${limit} rooms already` };
      }
    }
    return undefined;
  }

  private countGroups(member: HubMember, roomId: string, delta: 1 | -1): void {
    for (const [key] of this.groupsOf(member)) {
      let rooms = this.groupRooms.get(key);
      if (!rooms) this.groupRooms.set(key, (rooms = new Map()));
      const n = (rooms.get(roomId) ?? 0) + delta;
      if (n > 0) rooms.set(roomId, n);
      else rooms.delete(roomId);
      if (rooms.size === 0) this.groupRooms.delete(key);
    }
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  get membershipCount(): number {
    return this.memberships;
  }

  /** Members of `roomId` now (0 for a room nobody is in). */
  memberCount(roomId: string): number {
    return this.rooms.get(roomId)?.size ?? 0;
  }

  /** Everyone in `room` except `except`, as a snapshot (delivery may drop slow members). */
  private others(room: Map<string, Entry>, except: HubMember): HubMember[] {
    const out: HubMember[] = [];
    for (const e of room.values()) if (e.member !== except) out.push(e.member);
    return out;
  }

  private broadcast(room: Map<string, Entry>, except: HubMember, message: ServerMessage): void {
    const recipients = this.others(room, except);
    if (recipients.length === 0) return;
    const frame = prepare(message);
    for (const m of recipients) m.deliver(frame);
  }

  join(member: HubMember, roomId: string, announce: string, ref?: string): HubError | undefined {
    if (member.rooms.has(roomId)) return { code: 'ALREADY_IN_ROOM', message: 'already in this room' };
    if (member.rooms.size >= this.limits.maxRoomsPerConnection) {
      return { code: 'TOO_MANY_ROOMS', message: `at most ${this.limits.maxRoomsPerConnection} rooms per connection` };
    }
    const refused = this.groupRefusal(member, roomId);
    if (refused) return refused;
    let room = this.rooms.get(roomId);
    if (!room) {
      if (this.rooms.size >= this.limits.maxRooms) return { code: 'SERVER_FULL', message: 'server holds its maximum number of rooms' };
      room = new Map();
      this.rooms.set(roomId, room);
    } else if (room.size >= this.limits.maxMembersPerRoom) {
      return { code: 'ROOM_FULL', message: `room has ${this.limits.maxMembersPerRoom} members` };
    }
    const members = [...room.values()].map((e) => ({ id: e.member.id, announce: e.announce, ...seenOf(e.member) }));
    member.deliver(prepare(ref === undefined ? { type: 'members', room: roomId, members } : { type: 'members', room: roomId, members, ref }));
    this.broadcast(room, member, { type: 'member-joined', room: roomId, id: member.id, announce, ...seenOf(member) });
    room.set(member.id, { member, announce });
    member.rooms.add(roomId);
    this.countGroups(member, roomId, 1);
    this.memberships++;
    return undefined;
  }

  private roomOf(member: HubMember, roomId: string): Map<string, Entry> | undefined {
    return member.rooms.has(roomId) ? this.rooms.get(roomId) : undefined;
  }

  leave(member: HubMember, roomId: string): HubError | undefined {
    const room = this.roomOf(member, roomId);
    if (!room) return { code: 'NOT_IN_ROOM', message: 'not in this room' };
    room.delete(member.id);
    member.rooms.delete(roomId);
    this.countGroups(member, roomId, -1);
    this.memberships--;
    if (room.size === 0) this.rooms.delete(roomId);
    else this.broadcast(room, member, { type: 'member-left', room: roomId, id: member.id });
    return undefined;
  }

  update(member: HubMember, roomId: string, announce: string): HubError | undefined {
    const room = this.roomOf(member, roomId);
    const entry = room?.get(member.id);
    if (!room || !entry) return { code: 'NOT_IN_ROOM', message: 'not in this room' };
    entry.announce = announce;
    this.broadcast(room, member, { type: 'member-update', room: roomId, id: member.id, announce, ...seenOf(member) });
    return undefined;
  }

  /**
   * The member's `seen` changed (its UDP relay binding moved): its rooms hear it again, with the
   * announcement they have, each room only if `afford` grants that fan-out's bytes.
   */
  reseen(member: HubMember, afford: (bytes: number) => boolean): void {
    for (const roomId of member.rooms) {
      const room = this.rooms.get(roomId);
      const entry = room?.get(member.id);
      if (!room || !entry || !afford(entry.announce.length * (room.size - 1))) continue;
      this.broadcast(room, member, { type: 'member-update', room: roomId, id: member.id, announce: entry.announce, ...seenOf(member) });
    }
  }

  send(member: HubMember, roomId: string, to: string, data: string): HubError | undefined {
    const room = this.roomOf(member, roomId);
    if (!room) return { code: 'NOT_IN_ROOM', message: 'not in this room' };
    const target = room.get(to);
    if (!target) return { code: 'NO_SUCH_MEMBER', message: 'no member with that id in this room' };
    target.member.deliver(prepare({ type: 'message', room: roomId, from: member.id, data }));
    return undefined;
  }

  /** A connection went away: leave every room, telling the others. */
  drop(member: HubMember): void {
    for (const roomId of [...member.rooms]) this.leave(member, roomId);
  }
}
