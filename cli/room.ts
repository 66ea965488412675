// `wgp2p room init` and `wgp2p invite`: the first admin makes a room with admins (its secret, its
// admin key, its own membership) in its state directory, and hands out invites: one line each,
// carrying the server, room, secret, the room's anchor and an admin-signed grant of N uses until a
// deadline. The admin's running agent turns each redemption into a membership (membership/).
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { DEFAULT_STATE_DIR, loadOrCreateIdentity } from '../agent/join/identity/identity.js';
import { isMemberName, sanitizeName } from '../agent/join/room/announcement.js';
import { generateSecret } from '../agent/join/room/secret.js';
import { encodeInvite, inviteId, parseDuration } from '../agent/join/membership/invite.js';
import { removeThroughAgent } from './members.js';
import { CONTROL_OPTIONS } from './control-options.js';
import { loadRoomState, roomStatePath, saveRoomState } from '../agent/join/membership/room-state.js';
import { certifyAdmin, chainFor, MAX_CHAIN, MAX_INVITE_USES, signInvite, signMembership, type AdminSigner } from '../agent/join/membership/statements.js';
import { clamp, PrivateKey } from '../agent/wireguard/crypto.js';
import { formatKey } from '../shared/keys.js';
import type { Option } from '../shared/config/options.js';
import { commandArgs } from './command-args.js';
import { asText, badValue, integer, parseBool } from '../shared/config/values.js';
import { ConfigError } from '../shared/errors.js';
import { normalizeServerUrl } from '../shared/net/server-url.js';
import { optionHelp } from '../shared/config/help.js';
import { renderQr } from './qr.js';

const DEFAULT_EXPIRY = '24h';

const room = { parse: (raw: unknown, where: string) => {
  const t = asText(raw, where);
  if (t.length < 1 || t.length > 128) throw badValue(where, `expected 1 to 128 characters, got "${t}"`);
  return t;
}, value: 'NAME', help: 'the room' } satisfies Option<string>;
const stateDir = { parse: asText, default: DEFAULT_STATE_DIR, value: 'DIR', help: `the state directory (default ${DEFAULT_STATE_DIR})` } satisfies Option<string>;
const memberName = { parse: (raw: unknown, where: string) => {
  const t = asText(raw, where);
  if (!isMemberName(t)) throw badValue(where, `expected 1-63 of A-Z a-z 0-9 . _ -, got "${t}"`);
  return t;
}, value: 'N', help: 'a member name' } satisfies Option<string>;

const INIT_OPTIONS = {
  room,
  server: { parse: (raw: unknown, where: string) => {
    try {
      return normalizeServerUrl(asText(raw, where));
    } catch (e) {
      throw badValue(where, (e as Error).message);
    }
  }, value: 'URL', help: 'the signal server' },
  stateDir,
  name: { ...memberName, help: 'our name in the room (default: the host name)' },
} satisfies Record<string, Option<unknown>>;

const INVITE_OPTIONS = {
  room,
  stateDir,
  name: { ...memberName, noEnv: true, help: 'the name the new member gets (default: the one it chooses)' },
  expires: { parse: (raw: unknown, where: string) => {
    try {
      return parseDuration(asText(raw, where));
    } catch (e) {
      throw badValue(where, (e as Error).message);
    }
  }, value: 'D', help: `how long the invite can be used: 30m, 24h, 7d (default ${DEFAULT_EXPIRY})` },
  uses: { parse: integer(1, MAX_INVITE_USES), default: 1, value: 'N', help: 'how many keys may join with it (default 1)' },
  admin: { parse: parseBool, boolean: true, default: false, help: 'the invite makes its holder an admin too (a new admin key, certified by ours;\nan existing member may take it with join --invite)' },
  qr: { parse: parseBool, boolean: true, default: false, help: 'also draw the invite as a QR code (on stderr, so stdout stays the one line)' },
  revoke: { parse: asText, noEnv: true, value: 'INVITE', help: 'revoke an invite for good (its line or id) instead: asks the admin\'s running agent,\nwhich adds it to the revocation list; members it admitted stay' },
  interface: { ...CONTROL_OPTIONS.interface, noEnv: true, help: 'with --revoke: the agent to ask (default: the only one running)' },
} satisfies Record<string, Option<unknown>>;

const INIT_USAGE = `usage: wgp2p room init --room NAME --server URL [--state-dir DIR] [--name N]\n\n${optionHelp(INIT_OPTIONS, { flagWidth: 20 }).join('\n')}\n`;
const INVITE_USAGE = `usage: wgp2p invite --room NAME [--name N] [--expires 24h] [--uses 1] [--admin] [--qr] [--state-dir DIR]\n       wgp2p invite --revoke INVITE [--interface IF]\n\n${optionHelp(INVITE_OPTIONS, { flagWidth: 20 }).join('\n')}\n`;

export async function runRoom(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'init') throw new ConfigError('usage', `${INIT_USAGE}(wgp2p room knows only init)`);
  const r = commandArgs(INIT_OPTIONS, rest, INIT_USAGE, { env });
  if (!r) return 0;
  const v = r.values;
  if (!v.room || !v.server) throw new ConfigError('usage', `--room and --server are required\n${INIT_USAGE}`);
  if (loadRoomState(v.stateDir, v.room)) throw new ConfigError('conflict', `${roomStatePath(v.stateDir, v.room)} exists: room ${v.room} was made here before (move the file away to make it again)`);
  const identity = loadOrCreateIdentity(v.stateDir, (m) => process.stderr.write(`wgp2p: ${m}\n`));
  const adminKey = new PrivateKey(clamp(randomBytes(32)));
  const anchor = formatKey(adminKey.publicKey);
  const admin: AdminSigner = { privateKey: adminKey.raw, anchor, chain: [] };
  const name = v.name ?? sanitizeName(hostname());
  saveRoomState(v.stateDir, {
    room: v.room,
    server: v.server,
    secret: generateSecret(),
    anchor,
    membership: signMembership(admin, { key: identity.publicKey, name }),
    admin: { privateKey: formatKey(adminKey.raw), chain: [] },
  });
  process.stdout.write(
    `room ${v.room} made in ${roomStatePath(v.stateDir, v.room)}\n  anchor (admin key) ${anchor}\n  our key ${formatKey(identity.publicKey)}\n` +
      `next: wgp2p join --room ${v.room} --state-dir ${v.stateDir}   and   wgp2p invite --room ${v.room} --state-dir ${v.stateDir}\n`,
  );
  return 0;
}

export async function runInvite(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const r = commandArgs(INVITE_OPTIONS, argv, INVITE_USAGE, { env });
  if (!r) return 0;
  const v = r.values;
  if (v.revoke !== undefined) return revokeInvite(v.revoke, v.interface);
  if (!v.room) throw new ConfigError('usage', `--room is required\n${INVITE_USAGE}`);
  const state = loadRoomState(v.stateDir, v.room);
  if (!state) throw new ConfigError('bad_value', `no room ${v.room} in ${v.stateDir} (make it with wgp2p room init, or give --state-dir)`);
  if (!state.admin) throw new ConfigError('bad_value', `this state directory holds no admin key for room ${v.room}: only an admin can invite`);
  const admin: AdminSigner = { privateKey: Buffer.from(state.admin.privateKey, 'base64'), anchor: state.anchor, chain: state.admin.chain };
  const inviteKey = new PrivateKey(clamp(randomBytes(32)));
  const now = Date.now();
  const expires = now + (v.expires ?? parseDuration(DEFAULT_EXPIRY));
  const grant = signInvite(admin, { inviteKey: inviteKey.publicKey, uses: v.uses, expires, ...(v.name ? { name: v.name } : {}) }, now);
  if (v.admin && admin.chain.length >= MAX_CHAIN) throw new ConfigError('bad_value', `our admin key is ${MAX_CHAIN} certificates from the anchor: ask an admin closer to it`);
  const newAdmin = v.admin ? new PrivateKey(clamp(randomBytes(32))) : undefined;
  const adminInvite = newAdmin && { privateKey: newAdmin.raw, chain: chainFor(admin, certifyAdmin(admin, newAdmin.publicKey, now)) };
  const line = encodeInvite({ server: state.server, room: state.room, secret: state.secret, anchor: state.anchor, inviteKey: inviteKey.raw, grant, ...(adminInvite && { admin: adminInvite }) });
  process.stdout.write(line + '\n');
  if (v.qr) {
    const qr = renderQr(line);
    const width = qr.indexOf('\n');
    // A wrapped code does not scan: say so instead of leaving the user to wonder why.
    if (process.stderr.isTTY && process.stderr.columns < width) process.stderr.write(`wgp2p: the QR code is ${width} columns wide and this terminal ${process.stderr.columns}: widen it to scan\n`);
    process.stderr.write(qr);
  }
  process.stderr.write(`invite ${formatKey(inviteKey.publicKey)} for room ${state.room}: ${v.uses} use${v.uses === 1 ? '' : 's'}, until ${new Date(expires).toISOString()}; the admin's agent must be running to admit it\n`);
  return 0;
}

/** `wgp2p invite --revoke`: the invite's id goes on the room's revocation list (as `wgp2p remove` does a member's key). */
async function revokeInvite(text: string, ifname: string | undefined): Promise<number> {
  let id: string;
  try {
    id = inviteId(text);
  } catch (e) {
    throw new ConfigError('bad_value', `--revoke: ${(e as Error).message}`);
  }
  const r = await removeThroughAgent(ifname, id, 'wgp2p invite --revoke');
  if (!r) return 1;
  process.stdout.write(`revoked invite ${id} (revocation list version ${r.version}, sent to every member)\n`);
  return 0;
}
