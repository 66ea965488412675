// Gatekeeping for e2e tests that need root, network namespaces and real
// binaries. On a developer machine without them the test is skipped with the
// reason; under CI=true it fails instead, because CI must never pass by skipping.
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runCommand } from './process.js';

/**
 * The part of a tap Test these helpers use, so they work with the root `t`
 * and with subtests alike.
 */
export interface TestLike {
  plan(n: number, comment?: string): void;
  fail(message: string): unknown;
  comment(...args: unknown[]): void;
  teardown(fn: () => unknown): void;
  passing(): boolean;
}

export interface RootCheckOptions {
  /** Executables that must be on PATH as well, e.g. ['wireguard-go', 'wg', 'iperf3']. */
  binaries?: readonly string[];
  /** Name of the throw-away namespace used to prove `ip netns` works. Default `e2eprobe-<pid>`. */
  probeName?: string;
  /** Also require /dev/net/tun (needed by wireguard-go and the engine). Default false. */
  tun?: boolean;
}

/** True when running under CI, where missing prerequisites are failures. */
export function isCI(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

/**
 * Resolves to a description of the first missing prerequisite, or undefined
 * when root, `ip netns` (and the requested binaries / TUN) are all usable.
 */
export async function missingPrerequisite(opts: RootCheckOptions = {}): Promise<string | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'e2e tests need root (network namespaces); run as root';
  }
  for (const bin of ['ip', ...(opts.binaries ?? [])]) {
    if (!onPath(bin)) return `required binary not found on PATH: ${bin}`;
  }
  if (opts.tun) {
    try {
      accessSync('/dev/net/tun', fsConstants.R_OK | fsConstants.W_OK);
    } catch {
      return '/dev/net/tun is not available';
    }
  }
  // Creating a namespace is the only reliable proof: containers often allow
  // `ip netns list` but refuse the unshare/mount that `add` needs.
  const probe = opts.probeName ?? `e2eprobe-${process.pid}`;
  const added = await runCommand('ip', ['netns', 'add', probe], { allowFail: true, timeoutMs: 10_000 }).catch((e: Error) => e);
  if (added instanceof Error) return `ip netns unusable: ${added.message}`;
  if (added.code !== 0) return `ip netns unusable: ${added.stderr.trim() || `exit code ${added.code}`}`;
  await runCommand('ip', ['netns', 'del', probe], { allowFail: true, timeoutMs: 10_000 }).catch(() => undefined);
  return undefined;
}

/**
 * Call first in a test. Resolves true when the test may go on. Otherwise it
 * either skips the test (`t.plan(0, reason)`) or, under CI=true, fails it,
 * and resolves false: the caller should then return.
 */
export async function requireRootOrSkip(t: TestLike, opts: RootCheckOptions = {}): Promise<boolean> {
  const missing = await missingPrerequisite(opts);
  if (missing === undefined) return true;
  if (isCI()) {
    t.fail(`CI=true: e2e prerequisites missing, refusing to skip: ${missing}`);
    return false;
  }
  console.error(`# skipping e2e test: ${missing}`);
  t.plan(0, `skipped: ${missing}`);
  return false;
}

function onPath(bin: string): boolean {
  const dirs = bin.includes('/') ? [''] : (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    try {
      accessSync(dir ? join(dir, bin) : bin, fsConstants.X_OK);
      return true;
    } catch {
      /* keep looking */
    }
  }
  return false;
}
