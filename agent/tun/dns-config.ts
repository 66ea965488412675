// wg-quick's `DNS =` for `wgp2p up`: handed to resolvconf when it is installed (as wg-quick does),
// else to systemd-resolved through resolvectl when it runs, else written into /etc/resolv.conf,
// whose old contents come back when the tunnel stops.
import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { DnsSettings } from '../config/wg-quick.js';
import { checkIfName } from './ifname.js';

export type DnsMethod = 'resolvconf' | 'resolvectl' | 'file';
export const DNS_METHODS: readonly (DnsMethod | 'auto')[] = ['auto', 'resolvconf', 'resolvectl', 'file'];

export const RESOLV_CONF = '/etc/resolv.conf';
const RESOLVED_RUNTIME_DIR = '/run/systemd/resolve';
// resolvconf orders interfaces by name prefix; "tun." ranks a VPN above the LAN (wg-quick's choice).
const RESOLVCONF_PREFIX = 'tun.';
const COMMAND_TIMEOUT_MS = 10_000;
const FALLBACK_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

export interface AppliedDns {
  readonly method: DnsMethod;
  /** Takes the settings back; safe to call more than once. */
  undo(): Promise<void>;
}

/** Which way `auto` goes on this machine. */
export function detectDnsMethod(): DnsMethod {
  if (findBinary('resolvconf')) return 'resolvconf';
  if (findBinary('resolvectl') && existsSync(RESOLVED_RUNTIME_DIR)) return 'resolvectl';
  return 'file';
}

/** resolv.conf lines for the settings (what resolvconf reads on stdin, and the file method writes). */
export function resolvConfText(dns: DnsSettings): string {
  const lines = dns.servers.map((s) => `nameserver ${s}`);
  if (dns.search.length > 0) lines.push(`search ${dns.search.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** Applies `dns` for `ifname`; undefined when the file names no DNS servers. */
export async function applyDns(ifname: string, dns: DnsSettings | undefined, method: DnsMethod | 'auto' = 'auto', resolvConf = RESOLV_CONF): Promise<AppliedDns | undefined> {
  if (!dns || (dns.servers.length === 0 && dns.search.length === 0)) return undefined;
  checkIfName(ifname);
  const how = method === 'auto' ? detectDnsMethod() : method;
  switch (how) {
    case 'resolvconf': {
      const name = RESOLVCONF_PREFIX + ifname;
      await run('resolvconf', ['-a', name, '-m', '0', '-x'], resolvConfText(dns));
      return once(how, () => run('resolvconf', ['-d', name, '-f']));
    }
    case 'resolvectl': {
      await run('resolvectl', ['dns', ifname, ...dns.servers]);
      // "~." makes this link the one for every name, as resolvconf's -x does.
      await run('resolvectl', ['domain', ifname, ...dns.search, '~.']);
      return once(how, () => run('resolvectl', ['revert', ifname]).catch(() => undefined));
    }
    case 'file':
      return writeResolvConf(ifname, dns, resolvConf);
  }
}

/** Replaces the file's contents in place (it may be a bind mount, as under `ip netns exec`) and keeps the old ones. */
function writeResolvConf(ifname: string, dns: DnsSettings, path: string): AppliedDns {
  let previous: string | undefined;
  try {
    previous = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    writeFileSync(path, `# written by wgp2p up for ${ifname}; the old contents come back when it stops\n${resolvConfText(dns)}`);
  } catch (e) {
    throw new Error(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return once('file', async () => {
    if (previous === undefined) unlinkSync(path);
    else writeFileSync(path, previous);
  });
}

function once(method: DnsMethod, undo: () => Promise<unknown>): AppliedDns {
  let done: Promise<void> | undefined;
  return { method, undo: () => (done ??= undo().then(() => undefined)) };
}

export function findBinary(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean).concat(FALLBACK_DIRS);
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return join(dir, name);
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

export function run(cmd: string, args: string[], input?: string): Promise<void> {
  const bin = findBinary(cmd);
  if (!bin) return Promise.reject(new Error(`${cmd} was not found on PATH`));
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, { timeout: COMMAND_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      reject(new Error(`${cmd} ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
    });
    child.stdin?.end(input ?? '');
  });
}
