// Addresses and routes on an interface, set with iproute2's `ip` (run
// directly, no shell). Failures carry ip's own stderr.
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { isIP } from 'node:net';
import { delimiter, join } from 'node:path';
import { checkIfName } from './ifname.js';

const IP_TIMEOUT_MS = 10_000;
// Minimal environments often leave the sbin directories off PATH.
const FALLBACK_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/** Adds `cidr` (e.g. 10.0.0.1/24 or fd00::1/64) to `ifname`. An address already present counts as success. */
export async function addAddress(ifname: string, cidr: string): Promise<void> {
  const { family, text } = checkCidr(cidr);
  checkIfName(ifname);
  await runIp([family, 'addr', 'add', text, 'dev', ifname], /File exists|already assigned/);
}

/** Removes `cidr` from `ifname`. An address already gone counts as success. */
export async function removeAddress(ifname: string, cidr: string): Promise<void> {
  const { family, text } = checkCidr(cidr);
  checkIfName(ifname);
  await runIp([family, 'addr', 'del', text, 'dev', ifname], /Cannot assign requested address|not found/);
}

/** Routes `cidr` (e.g. 10.1.0.0/16) into `ifname`, replacing any route for the same prefix (in `table`, default main). */
export async function addRoute(ifname: string, cidr: string, table?: number): Promise<void> {
  const { family, text } = checkCidr(cidr);
  checkIfName(ifname);
  await runIp([family, 'route', 'replace', text, 'dev', ifname, ...(table === undefined ? [] : ['table', String(table)])]);
}

/** Removes the route for `cidr` through `ifname` (in `table`, default main); one already gone counts as success. */
export async function removeRoute(ifname: string, cidr: string, table?: number): Promise<void> {
  const { family, text } = checkCidr(cidr);
  checkIfName(ifname);
  await runIp([family, 'route', 'del', text, 'dev', ifname, ...(table === undefined ? [] : ['table', String(table)])], /No such process|Cannot find device/);
}

function checkCidr(cidr: unknown): { family: '-4' | '-6'; text: string } {
  if (typeof cidr !== 'string') throw new TypeError(`address must be a string like 10.0.0.1/24, got ${typeof cidr}`);
  const [addr = '', prefix, ...rest] = cidr.trim().split('/');
  const version = isIP(addr);
  const max = version === 6 ? 128 : 32;
  if (version === 0 || rest.length > 0 || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= max))) {
    throw new Error(`invalid address "${cidr}": expected ADDRESS or ADDRESS/PREFIX (IPv4 or IPv6)`);
  }
  return { family: version === 6 ? '-6' : '-4', text: prefix === undefined ? addr : `${addr}/${prefix}` };
}

const toolPaths = new Map<string, string>();

/** The path of a system tool (ip, nft), looked up once on PATH and the sbin directories. */
export function findTool(name: string): string {
  const known = toolPaths.get(name);
  if (known) return known;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean).concat(FALLBACK_DIRS);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      toolPaths.set(name, candidate);
      return candidate;
    } catch {
      /* keep looking */
    }
  }
  throw new Error(`the ${name} command was not found on PATH or in ${FALLBACK_DIRS.join(', ')}`);
}

const findIp = () => findTool('ip');

/**
 * Runs `ip ARGS` and waits (for shutdown paths that cannot wait for the event loop, and quick
 * look-ups); its standard output, or undefined when it failed.
 */
export function runIpSync(args: string[]): string | undefined {
  try {
    return execFileSync(findIp(), args, { timeout: IP_TIMEOUT_MS, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

export function runIp(args: string[], okIfStderr?: RegExp): Promise<void> {
  const bin = findIp();
  const shown = `ip ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: IP_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const detail = String(stderr).trim();
      if (okIfStderr && okIfStderr.test(detail)) return resolve();
      reject(new Error(`${shown} failed: ${detail || err.message}`));
    });
  });
}
