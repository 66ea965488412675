// Changes an agent makes to its host that must not outlive it: a rewritten resolv.conf, a sysctl
// turned on (/proc/sys files), an nftables table of ours. The way back is written to the state
// directory *before* the change, so it is undone when the agent stops, and after a crash
// (SIGKILL, power loss) on the next start, whatever the flags say then. A file someone changed
// since we wrote it is left as it is: the way back is only for our own text.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.js';
import { findTool } from '../tun/link-config.js';

const NFT_TIMEOUT_MS = 10_000;

export interface FileChange {
  kind: 'file';
  path: string;
  /** null: there was no file. */
  previous: string | null;
  written: string;
}

export interface NftTableChange {
  kind: 'nft-table';
  family: 'ip' | 'ip6';
  table: string;
}

export type HostChange = FileChange | NftTableChange;

/** One trailing newline is no change (/proc/sys reads back "1\n" for a written "1"). */
const sameText = (a: string, b: string) => a.replace(/\n$/, '') === b.replace(/\n$/, '');

export function nft(args: string[], input?: string): void {
  execFileSync(findTool('nft'), args, { input, timeout: NFT_TIMEOUT_MS, stdio: ['pipe', 'ignore', 'pipe'] });
}

function undoOne(c: HostChange, log: Logger): void {
  try {
    if (c.kind === 'nft-table') {
      nft(['delete', 'table', c.family, c.table]);
      return;
    }
    const current = existsSync(c.path) ? readFileSync(c.path, 'utf8') : undefined;
    if (current === undefined || !sameText(current, c.written)) log.warn('changed since we wrote it: left as it is', { path: c.path });
    else if (c.previous === null) unlinkSync(c.path);
    else writeFileSync(c.path, c.previous);
  } catch (e) {
    const what = c.kind === 'file' ? { path: c.path } : { table: `${c.family} ${c.table}` };
    log.warn('could not undo a change to the host', { ...what, error: String((e as { stderr?: Buffer }).stderr ?? '').trim() || (e as Error).message });
  }
}

/** Reads a saved list; the resolv.conf backup of older versions was one file change without a kind. */
function parseChanges(text: string): HostChange[] {
  const v = JSON.parse(text) as unknown;
  if (Array.isArray(v)) return v as HostChange[];
  return [{ kind: 'file', ...(v as Omit<FileChange, 'kind'>) }];
}

/** The changes of one feature, kept in `stateDir/NAME.json` while they are in place. */
export class HostChanges {
  private readonly file: string;

  constructor(
    stateDir: string,
    name: string,
    private readonly log: Logger,
  ) {
    this.file = join(stateDir, `${name}.json`);
  }

  /** Undoes what a run that died left in place; true if there was something. */
  restoreLeftover(): boolean {
    let changes: HostChange[];
    try {
      changes = parseChanges(readFileSync(this.file, 'utf8'));
    } catch {
      return false;
    }
    // Last made, first undone.
    for (const c of [...changes].reverse()) undoOne(c, this.log);
    unlinkSync(this.file);
    return true;
  }

  /** Saves the way back for `changes`, to be called before making them. Throws if it cannot. */
  record(changes: readonly HostChange[]): void {
    writeFileSync(this.file, JSON.stringify(changes), { mode: 0o600 });
  }

  /** The change writing `written(what is there now)` to `path` (a file or a sysctl), with the way back. */
  static fileChange(path: string, written: (previous: string | null) => string): FileChange {
    let previous: string | null = null;
    try {
      previous = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return { kind: 'file', path, previous, written: written(previous) };
  }
}

/** Makes the file changes of `changes` (nft tables are made by their owner). */
export function writeFiles(changes: readonly HostChange[]): void {
  for (const c of changes) if (c.kind === 'file') writeFileSync(c.path, c.written);
}
