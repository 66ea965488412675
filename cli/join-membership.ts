// What `wgp2p join` takes from the state directory in a room with admins: `--invite` is decoded,
// checked for expiry and kept there (room-state.ts) with the server, room and secret it carries;
// a later `wgp2p join --room NAME` finds them there. The agent's membership options read and
// write the same file.
import { decodeInvite } from '../agent/join/membership/invite.js';
import { loadRoomState, saveRoomState, type RoomState } from '../agent/join/membership/room-state.js';
import type { MembershipOptions } from '../agent/join/membership/room-membership.js';
import { ConfigError } from '../shared/errors.js';
import { normalizeServerUrl } from '../shared/net/server-url.js';

export interface JoinRoomState {
  room: string;
  server: string;
  secret: string;
  membership: MembershipOptions;
  /** Keeps an invite's room in the state directory (once the directory exists: after the identity). */
  commit(): void;
}

/** The room state for this join, after taking in `--invite`; undefined for a room without admins. */
export function joinRoomState(o: { stateDir: string; room?: string; invite?: string }, refused: (reason: string) => void): JoinRoomState | undefined {
  let state: RoomState | undefined;
  let fresh = false;
  if (o.invite !== undefined) {
    let invite;
    try {
      invite = decodeInvite(o.invite);
      normalizeServerUrl(invite.server);
    } catch (e) {
      throw new ConfigError('bad_value', `--invite: ${(e as Error).message}`);
    }
    if (o.room !== undefined && o.room !== invite.room) throw new ConfigError('conflict', `--invite is for room "${invite.room}", not "${o.room}"`);
    const exp = invite.grant.exp;
    if (typeof exp !== 'number' || exp <= Date.now()) throw new ConfigError('bad_value', 'the invite has expired: ask an admin for a new one (wgp2p invite)');
    state = loadRoomState(o.stateDir, invite.room);
    const admin = invite.admin && { privateKey: invite.admin.privateKey.toString('base64'), chain: invite.admin.chain };
    if (state?.membership && state.anchor === invite.anchor && admin) {
      // A member taking an admin invite keeps its membership and becomes an admin.
      state = { ...state, admin };
      fresh = true;
    } else if (!state?.membership || state.anchor !== invite.anchor) {
      state = { room: invite.room, server: invite.server, secret: invite.secret, anchor: invite.anchor, ...(state?.anchor === invite.anchor ? { revocations: state.revocations } : {}), invite: { key: invite.inviteKey.toString('base64'), grant: invite.grant }, ...(admin && { admin }) };
      fresh = true;
    }
  } else if (o.room !== undefined) {
    state = loadRoomState(o.stateDir, o.room);
  }
  if (!state) return undefined;
  const s = state;
  const dir = o.stateDir;
  return {
    room: s.room,
    server: s.server,
    secret: s.secret,
    commit: () => fresh && saveRoomState(dir, s),
    membership: {
      anchor: s.anchor,
      ...(s.membership && { membership: s.membership }),
      ...(s.invite && { invite: { key: Buffer.from(s.invite.key, 'base64'), grant: s.invite.grant } }),
      ...(s.revocations && { revocations: s.revocations }),
      ...(s.admin && { admin: { privateKey: Buffer.from(s.admin.privateKey, 'base64'), anchor: s.anchor, chain: s.admin.chain } }),
      redeemed: s.redeemed,
      admitted: s.admitted,
      persist: (patch) => {
        const now = loadRoomState(dir, s.room) ?? s;
        const next: RoomState = { ...now, ...patch };
        // Admitted: the invite has done its work.
        if (patch.membership) delete next.invite;
        saveRoomState(dir, next);
      },
      refused,
    },
  };
}
