// The systemd units shipped in the package's systemd/ folder, and how one is made ready for this
// machine: its ExecStart pointed at the wgp2p that is running now.
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { packageJsonPath } from './version.js';

/** The path the shipped units name; replaced when a unit is installed. */
export const SHIPPED_BINARY = '/usr/local/bin/wgp2p';
export const UNIT_DIR = '/etc/systemd/system';

export type ServiceKind = 'server' | 'join' | 'up';

export interface UnitChoice {
  /** File name in systemd/ and in the unit directory (a template for join and up). */
  file: string;
  /** What systemctl enables: the unit itself, or the template's instance. */
  unit: string;
  /** The configuration file the service reads, if it needs one. */
  config?: string;
}

export const UNIT_FILES: Record<ServiceKind, string> = {
  server: 'wgp2p-server.service',
  join: 'wgp2p-join@.service',
  up: 'wgp2p-up@.service',
};

// systemd instance names may hold more, but these must also name a file and an interface.
const INSTANCE = /^[A-Za-z0-9_.=+-]{1,64}$/;

export function unitsDir(): string {
  return join(dirname(packageJsonPath()), 'systemd');
}

export function chooseUnit(kind: ServiceKind, instance: string | undefined): UnitChoice {
  const file = UNIT_FILES[kind];
  if (kind === 'server') {
    if (instance !== undefined) throw new Error('service install server takes no name');
    return { file, unit: file, config: '/etc/wgp2p/server.env' };
  }
  if (!instance || !INSTANCE.test(instance)) throw new Error(`service install ${kind} needs a ${kind === 'join' ? 'ROOM' : 'IFACE'} name (1-64 of A-Z a-z 0-9 _ . = + -)`);
  const unit = file.replace('@.', `@${instance}.`);
  return { file, unit, config: kind === 'join' ? `/etc/wgp2p/${instance}.conf` : `/etc/wireguard/${instance}.conf` };
}

/** The shipped unit with ExecStart running `command` (an absolute path, or node plus main.js). */
export function renderUnit(file: string, command: string, dir = unitsDir()): string {
  const text = readFileSync(join(dir, file), 'utf8');
  if (!text.includes(`ExecStart=${SHIPPED_BINARY} `)) throw new Error(`${file} has no ExecStart=${SHIPPED_BINARY} line to adapt`);
  return text.replaceAll(`ExecStart=${SHIPPED_BINARY} `, `ExecStart=${command} `);
}

/**
 * How systemd should start the wgp2p that runs now: the installed `wgp2p` when we were started
 * through it, else node with this checkout's main.js.
 */
export function currentCommand(argv1 = process.argv[1] ?? '', node = process.execPath): string {
  if (basename(argv1) === 'wgp2p') return argv1;
  return `${node} ${argv1}`;
}
