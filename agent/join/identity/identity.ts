// The member's WireGuard identity: a private key generated once and kept in the state directory
// (default /var/lib/wgp2p), readable by its owner only. The public key is who we are in a room.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatKey, parseKey } from '../../../shared/keys.js';
import { clamp, PrivateKey } from '../../wireguard/crypto.js';

export const DEFAULT_STATE_DIR = '/var/lib/wgp2p';
const KEY_FILE = 'private.key';

export interface Identity {
  privateKey: Buffer;
  publicKey: Buffer;
  /** Where the key lives. */
  keyFile: string;
  /** True when this run generated it. */
  created: boolean;
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied (run as root or choose another --state-dir)';
  if (code === 'EROFS') return 'read-only file system (choose another --state-dir)';
  if (code === 'ENOTDIR') return 'a path component is not a directory';
  return code ?? (e as Error).message;
}

/**
 * mkdir -p, parent by parent. Node's own recursive mkdir can spin forever on paths where the
 * kernel answers ENOENT for an existing parent (e.g. under /proc); this gives up instead.
 */
function makeDirectory(dir: string, depth: number): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      return;
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir || depth > 64) throw e;
    makeDirectory(parent, depth + 1);
    mkdirSync(dir, { mode: 0o700 });
  }
}

/**
 * A state directory others could write to would let them swap our key for theirs: refuse one
 * that is group- or world-writable or owned by another user (root may use root's).
 */
function checkStateDirectory(dir: string): void {
  const st = statSync(dir);
  const mode = st.mode & 0o777;
  if (mode & 0o022) throw new Error(`state directory ${dir} is writable by group or others (mode ${mode.toString(8)}); run chmod go-w ${dir}`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new Error(`state directory ${dir} belongs to uid ${st.uid}, not to us (uid ${uid}); choose another --state-dir`);
}

/**
 * Reads the identity from `stateDir`, or creates the directory (0700) and a new key (0600).
 * A key file others can read is tightened to 0600 with `onWarning`. Throws one clear line.
 */
export function loadOrCreateIdentity(stateDir: string, onWarning: (msg: string) => void = () => undefined): Identity {
  const keyFile = join(stateDir, KEY_FILE);
  try {
    makeDirectory(stateDir, 0);
  } catch (e) {
    throw new Error(`cannot create state directory ${stateDir}: ${reason(e)}`);
  }
  checkStateDirectory(stateDir);
  let text: string | undefined;
  try {
    text = readFileSync(keyFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${keyFile}: ${reason(e)}`);
  }
  if (text !== undefined) {
    let privateKey: Buffer;
    try {
      privateKey = parseKey(text, `${keyFile}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}; move the file away to have a new identity generated`);
    }
    const mode = statSync(keyFile).mode & 0o777;
    if (mode & 0o077) {
      onWarning(`${keyFile} was readable by others (mode ${mode.toString(8)}); tightened to 600`);
      try {
        chmodSync(keyFile, 0o600);
      } catch (e) {
        throw new Error(`cannot tighten the mode of ${keyFile}: ${reason(e)}`);
      }
    }
    return { privateKey, publicKey: new PrivateKey(privateKey).publicKey, keyFile, created: false };
  }
  const privateKey = clamp(randomBytes(32));
  try {
    // 'wx': never overwrite a key another process created meanwhile.
    writeFileSync(keyFile, formatKey(privateKey) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateIdentity(stateDir, onWarning);
    throw new Error(`cannot write ${keyFile}: ${reason(e)}`);
  }
  return { privateKey, publicKey: new PrivateKey(privateKey).publicKey, keyFile, created: true };
}
