// A room with admins, as a member keeps it in its state directory (one file per room, 0600, next
// to private.key): the server, room name and secret, the anchor it trusts, its membership
// statement, a pending invite, the revocation chain, and on an admin its admin key, chain,
// and the invites and members it admitted. `wgp2p join --room NAME` needs nothing more than it.
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isKeyText, type AdminCert } from './statements.js';

export interface RoomState {
  room: string;
  server: string;
  secret: string;
  /** The first admin's public key: the root of every admin signature we accept. */
  anchor: string;
  /** Ours, once an admin signed it. */
  membership?: Record<string, unknown>;
  /** The invite we join with until an admin's agent turned it into a membership. */
  invite?: { key: string; grant: Record<string, unknown> };
  /** The revocation chain, oldest first (older states: one list, see RevocationStore.load). */
  revocations?: Record<string, unknown>[] | Record<string, unknown>;
  /** Present on admins only. */
  admin?: { privateKey: string; chain: AdminCert[] };
  /** Admins only: keys admitted per invite id (its uses), and names of members they admitted. */
  redeemed?: Record<string, string[]>;
  admitted?: Record<string, string>;
}

export function roomStatePath(stateDir: string, room: string): string {
  return join(stateDir, `room-${Buffer.from(room).toString('base64url')}.json`);
}

/** The room's state, undefined when the directory has none; throws one clear line on a broken file. */
export function loadRoomState(stateDir: string, room: string): RoomState | undefined {
  const file = roomStatePath(stateDir, room);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    // No state there (an unusable directory is reported when the identity is stored in it).
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not JSON; move it away and join with a new invite`);
  }
  const s = o as Partial<RoomState> | null;
  if (!s || typeof s !== 'object' || s.room !== room || typeof s.server !== 'string' || typeof s.secret !== 'string' || !isKeyText(s.anchor)) {
    throw new Error(`${file} is not a wgp2p room state; move it away and join with a new invite`);
  }
  // Others must not read the secret or the admin key.
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return s as RoomState;
}

/** Writes the state atomically (a crash leaves the old file or the new one), 0600. */
export function saveRoomState(stateDir: string, s: RoomState): void {
  const file = roomStatePath(stateDir, s.room);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 1) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}
