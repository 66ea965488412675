// A small typed layer over iproute2 for building test networks out of network
// namespaces, plus Lab, which remembers everything it built so one call tears
// it all down, even after a failed assertion or a crash of an earlier run.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ManagedProcess,
  runCommand,
  sleep,
  type CommandResult,
  type ManagedProcessOptions,
  type RunOptions,
} from './process.js';
import type { TestLike } from './root.js';

/** Either a Netns or a namespace name. */
export type NsRef = Netns | string;

const NETNS_DIR = '/run/netns';
const PIDS_GONE_TIMEOUT_MS = 5_000;

/** One named network namespace (`ip netns add NAME`), with `lo` up. */
export class Netns {
  readonly name: string;
  /** Default log directory for processes spawned here (set by Lab). */
  logDir: string | undefined;
  #processes: ManagedProcess[] = [];
  #cleanups: Array<() => unknown> = [];
  #syncCleanups: Array<() => void> = [];
  #deleted = false;

  private constructor(name: string, logDir?: string) {
    this.name = name;
    this.logDir = logDir;
  }

  /**
   * Creates namespace `name` with `lo` up. Idempotent across runs: a leftover
   * namespace of the same name (from a crashed run) is emptied and deleted first.
   */
  static async create(name: string, opts: { logDir?: string } = {}): Promise<Netns> {
    checkNsName(name);
    await Netns.deleteIfExists(name);
    await runCommand('ip', ['netns', 'add', name]);
    const ns = new Netns(name, opts.logDir);
    try {
      await ns.ip(['link', 'set', 'lo', 'up']);
    } catch (err) {
      await ns.delete().catch(() => undefined);
      throw err;
    }
    return ns;
  }

  /** True if /run/netns/NAME exists. */
  static exists(name: string): boolean {
    return existsSync(join(NETNS_DIR, name));
  }

  /** Kills every process inside namespace `name` and deletes it. Resolves false if it did not exist. */
  static async deleteIfExists(name: string): Promise<boolean> {
    checkNsName(name);
    if (!Netns.exists(name)) return false;
    await killAllIn(name);
    await runCommand('ip', ['netns', 'del', name]);
    return true;
  }

  /**
   * Runs `cmd args...` inside the namespace and resolves {stdout, stderr, code, signal}.
   * Throws CommandError (with stderr) on a non-zero exit unless opts.allowFail.
   */
  exec(cmd: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult> {
    return runCommand('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  /** Runs `ip -n NAME args...` (iproute2 acting on this namespace). */
  ip(args: readonly string[], opts?: RunOptions): Promise<CommandResult> {
    return runCommand('ip', ['-n', this.name, ...args], opts);
  }

  /**
   * Starts a long-lived `cmd args...` inside the namespace. The process is
   * killed by delete(). Logs go to opts.logDir, else this namespace's logDir.
   */
  spawn(cmd: string, args: readonly string[], opts: ManagedProcessOptions = {}): ManagedProcess {
    if (this.#deleted) throw new Error(`netns ${this.name} was deleted; cannot spawn ${cmd}`);
    const name = opts.name ?? `${this.name}.${cmd.split('/').pop() ?? cmd}`;
    const p = new ManagedProcess('ip', ['netns', 'exec', this.name, cmd, ...args], {
      ...opts,
      name: uniqueName(name, this.#processes),
      logDir: opts.logDir ?? this.logDir,
    });
    this.#processes.push(p);
    return p;
  }

  /** Processes started with spawn(), oldest first. */
  get processes(): readonly ManagedProcess[] {
    return this.#processes;
  }

  /**
   * Registers `fn` to run (newest first) at the start of delete(), e.g.
   * stopping a daemon cleanly. `syncFallback` runs instead when the test
   * process is exiting and only synchronous work is possible (deleteNow).
   */
  onDelete(fn: () => unknown, syncFallback?: () => void): void {
    this.#cleanups.push(fn);
    if (syncFallback) this.#syncCleanups.push(syncFallback);
  }

  /** PIDs of all processes living in the namespace (ours or not). */
  async pids(): Promise<number[]> {
    return listPids(this.name);
  }

  get deleted(): boolean {
    return this.#deleted;
  }

  /**
   * Runs onDelete hooks, stops spawned processes (SIGTERM, then SIGKILL),
   * kills anything else left inside, and deletes the namespace. Idempotent.
   * Throws an AggregateError listing every step that failed, after trying all.
   */
  async delete(): Promise<void> {
    if (this.#deleted) return;
    this.#deleted = true;
    const errors: unknown[] = [];
    for (const fn of this.#cleanups.splice(0).reverse()) {
      try { await fn(); } catch (err) { errors.push(err); }
    }
    await Promise.all(this.#processes.map((p) => p.kill('SIGTERM').catch((err: unknown) => { errors.push(err); })));
    try {
      await Netns.deleteIfExists(this.name);
    } catch (err) {
      errors.push(err);
    }
    if (errors.length) throw new AggregateError(errors, `cleaning up netns ${this.name}: ${errors.map(errText).join('; ')}`);
  }

  /**
   * Synchronous best effort for process 'exit' handlers: SIGKILL everything
   * and delete the namespace. Runs even if an async delete() was cut short.
   */
  deleteNow(): void {
    this.#deleted = true;
    for (const fn of this.#syncCleanups.splice(0).reverse()) {
      try { fn(); } catch { /* best effort */ }
    }
    for (const p of this.#processes) p.killNow();
    if (!Netns.exists(this.name)) return;
    const r = spawnSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' });
    for (const pid of parsePids(r.stdout ?? '')) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

/**
 * Creates a veth pair with end `ifA` in `nsA` and `ifB` in `nsB` (created
 * directly there, so the names never collide in the root namespace) and sets both up.
 */
export async function vethPair(nsA: NsRef, ifA: string, nsB: NsRef, ifB: string): Promise<void> {
  checkIfName(ifA);
  checkIfName(ifB);
  await runCommand('ip', ['link', 'add', ifA, 'netns', nsName(nsA), 'type', 'veth', 'peer', 'name', ifB, 'netns', nsName(nsB)]);
  await linkUp(nsA, ifA);
  await linkUp(nsB, ifB);
}

/**
 * `ip addr add CIDR dev IFNAME` in the namespace. IPv6 addresses get `nodad`
 * by default so they are usable at once instead of after duplicate detection.
 */
export async function addAddress(ns: NsRef, ifname: string, cidr: string, opts: { nodad?: boolean } = {}): Promise<void> {
  const v6 = cidr.includes(':');
  const args = ['-n', nsName(ns), ...(v6 ? ['-6'] : []), 'addr', 'add', cidr, 'dev', ifname];
  if (v6 && (opts.nodad ?? true)) args.push('nodad');
  await runCommand('ip', args);
}

/**
 * A bridge with a MAC address of its own. Left alone, a bridge takes the lowest MAC of its
 * ports and changes it as ports join, and every neighbour's cached gateway MAC goes stale.
 */
export async function addBridge(ns: Netns, name: string): Promise<void> {
  checkIfName(name);
  const mac = randomBytes(6);
  mac[0] = (mac[0]! & 0xfe) | 0x02; // unicast, locally administered
  const address = [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
  await ns.ip(['link', 'add', name, 'address', address, 'type', 'bridge']);
  await ns.ip(['link', 'set', name, 'up']);
}

export async function linkUp(ns: NsRef, ifname: string): Promise<void> {
  await runCommand('ip', ['-n', nsName(ns), 'link', 'set', 'dev', ifname, 'up']);
}

export async function linkDown(ns: NsRef, ifname: string): Promise<void> {
  await runCommand('ip', ['-n', nsName(ns), 'link', 'set', 'dev', ifname, 'down']);
}

export async function setMtu(ns: NsRef, ifname: string, mtu: number): Promise<void> {
  await runCommand('ip', ['-n', nsName(ns), 'link', 'set', 'dev', ifname, 'mtu', String(mtu)]);
}

/**
 * `ip route add CIDR [via GW] [dev DEV]`. CIDR may be `default`; the address
 * family comes from CIDR or GW (IPv6 if either contains ':').
 */
export async function addRoute(ns: NsRef, cidr: string, via?: string, dev?: string): Promise<void> {
  if (via === undefined && dev === undefined) throw new Error(`addRoute ${cidr}: give a gateway (via) or a device (dev)`);
  const v6 = cidr.includes(':') || (via?.includes(':') ?? false);
  const args = ['-n', nsName(ns), v6 ? '-6' : '-4', 'route', 'add', cidr];
  if (via !== undefined) args.push('via', via);
  if (dev !== undefined) args.push('dev', dev);
  await runCommand('ip', args);
}

/** Turns on IPv4 and IPv6 forwarding inside the namespace (making it a router). */
export async function enableForwarding(ns: NsRef): Promise<void> {
  await runCommand('ip', ['netns', 'exec', nsName(ns), 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
}

export interface LabOptions {
  /** Used in the log directory name. Default 'lab'. */
  name?: string;
  /** Keep the log directory even when the test passed (also: env WGP2P_KEEP_LOGS=1). */
  keepLogs?: boolean;
}

/**
 * Owns every namespace (and so every process) a test builds. destroy() removes
 * it all; Lab.create(t) arranges for that to happen in t.teardown, and prints
 * the tails of all process logs there when the test failed.
 */
export class Lab {
  readonly logDir: string;
  #namespaces: Netns[] = [];
  #cleanups: Array<() => unknown> = [];
  #destroyed = false;
  #keepLogs: boolean;
  #test: TestLike | undefined;

  private constructor(logDir: string, keepLogs: boolean, test: TestLike | undefined) {
    this.logDir = logDir;
    this.#keepLogs = keepLogs;
    this.#test = test;
    trackLab(this);
  }

  /** Creates a lab with a fresh log directory. Pass `t` to register teardown and failure reports. */
  static async create(t?: TestLike, opts: LabOptions = {}): Promise<Lab> {
    const safe = (opts.name ?? 'lab').replace(/[^\w.-]+/g, '_');
    const dir = await mkdtemp(join(tmpdir(), `wgp2p-e2e-${safe}-`));
    const lab = new Lab(dir, opts.keepLogs ?? process.env.WGP2P_KEEP_LOGS === '1', t);
    if (t) {
      t.teardown(async () => {
        const passing = t.passing();
        if (!passing) t.comment(`e2e lab failed; logs in ${lab.logDir}\n${lab.logTails()}`);
        await lab.destroy({ passing });
      });
    }
    return lab;
  }

  /** Creates (idempotently) and tracks namespace `name`; its processes log into logDir. */
  async netns(name: string): Promise<Netns> {
    if (this.#destroyed) throw new Error('lab already destroyed');
    const existing = this.#namespaces.find((n) => n.name === name && !n.deleted);
    if (existing) throw new Error(`lab already has a namespace named ${name}`);
    const ns = await Netns.create(name, { logDir: this.logDir });
    this.#namespaces.push(ns);
    return ns;
  }

  /** Runs `fn` during destroy(), newest first, before namespaces are deleted. */
  defer(fn: () => unknown): void {
    this.#cleanups.push(fn);
  }

  get namespaces(): readonly Netns[] {
    return this.#namespaces;
  }

  /** All processes spawned in this lab's namespaces. */
  get processes(): ManagedProcess[] {
    return this.#namespaces.flatMap((n) => [...n.processes]);
  }

  /** Last `lines` lines of every process's stdout/stderr. */
  logTails(lines = 30): string {
    const procs = this.processes;
    return procs.length ? procs.map((p) => p.tail(lines)).join('\n') : '(no processes were started)';
  }

  /**
   * Runs deferred cleanups, deletes all namespaces (newest first) with their
   * processes, and removes the log directory unless the test failed (opts.passing,
   * else the test given to create()) or logs are kept. Idempotent; throws an
   * AggregateError if any step failed.
   */
  async destroy(opts: { passing?: boolean } = {}): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    // The lab stays tracked until the end: if the process exits or is
    // signalled while we await below, destroyNow() finishes the job.
    const errors: unknown[] = [];
    for (const fn of this.#cleanups.splice(0).reverse()) {
      try { await fn(); } catch (err) { errors.push(err); }
    }
    for (const ns of [...this.#namespaces].reverse()) {
      try { await ns.delete(); } catch (err) { errors.push(err); }
    }
    // Let the last log writes land before deciding about the directory.
    await sleep(10);
    const passing = opts.passing ?? this.#test?.passing() ?? true;
    if (passing && !this.#keepLogs && errors.length === 0) {
      await rm(this.logDir, { recursive: true, force: true });
    }
    untrackLab(this);
    if (errors.length) throw new AggregateError(errors, `lab cleanup failed: ${errors.map(errText).join('; ')}`);
  }

  /** Synchronous last-resort cleanup, used when the process exits or is killed by a signal. */
  destroyNow(): void {
    this.#destroyed = true;
    untrackLab(this);
    for (const ns of [...this.#namespaces].reverse()) ns.deleteNow();
  }
}

// Last-resort cleanup. A test process can end without running teardown: an
// uncaught error or process.exit ('exit' event), tap's per-file timeout
// (SIGALRM), or Ctrl-C / kill (SIGINT, SIGTERM, SIGHUP). On a signal we clean
// up synchronously, remove our handler and re-raise it, so whatever would
// have happened (tap's timeout report, default termination) still happens.
const EMERGENCY_SIGNALS: readonly NodeJS.Signals[] = ['SIGALRM', 'SIGINT', 'SIGTERM', 'SIGHUP'];
const liveLabs = new Set<Lab>();

function emergencyCleanup(): void {
  for (const lab of [...liveLabs]) lab.destroyNow();
}

function onEmergencySignal(sig: NodeJS.Signals): void {
  emergencyCleanup();
  removeEmergencyHandlers();
  process.kill(process.pid, sig);
}

function removeEmergencyHandlers(): void {
  process.removeListener('exit', emergencyCleanup);
  for (const sig of EMERGENCY_SIGNALS) process.removeListener(sig, onEmergencySignal);
}

function trackLab(lab: Lab): void {
  if (liveLabs.size === 0) {
    process.on('exit', emergencyCleanup);
    for (const sig of EMERGENCY_SIGNALS) process.on(sig, onEmergencySignal);
  }
  liveLabs.add(lab);
}

function untrackLab(lab: Lab): void {
  if (liveLabs.delete(lab) && liveLabs.size === 0) removeEmergencyHandlers();
}

export function nsName(ns: NsRef): string {
  return typeof ns === 'string' ? ns : ns.name;
}

async function listPids(name: string): Promise<number[]> {
  const r = await runCommand('ip', ['netns', 'pids', name], { allowFail: true });
  return parsePids(r.stdout);
}

/** SIGKILLs every process in namespace `name` and waits until none is left. */
async function killAllIn(name: string): Promise<void> {
  const deadline = Date.now() + PIDS_GONE_TIMEOUT_MS;
  for (;;) {
    const pids = await listPids(name);
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes ${pids.join(', ')} in netns ${name} survived SIGKILL`);
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await sleep(50);
  }
}

function parsePids(text: string): number[] {
  return text.split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number);
}

function checkNsName(name: string): void {
  if (!name || name === '.' || name === '..' || name.includes('/') || /\s/.test(name)) {
    throw new Error(`invalid network namespace name: ${JSON.stringify(name)}`);
  }
}

/** Linux interface names: 1–15 bytes, no '/', ':' or whitespace. */
export function checkIfName(name: string): void {
  if (!name || Buffer.byteLength(name) > 15 || /[/:\s]/.test(name)) {
    throw new Error(`invalid interface name ${JSON.stringify(name)} (1-15 chars, no '/', ':' or spaces)`);
  }
}

function uniqueName(name: string, existing: readonly ManagedProcess[]): string {
  const taken = new Set(existing.map((p) => p.name));
  if (!taken.has(name)) return name;
  for (let i = 2; ; i++) if (!taken.has(`${name}-${i}`)) return `${name}-${i}`;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
