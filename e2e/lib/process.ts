// Child processes for e2e tests: one-shot commands (runCommand) and long-lived,
// observable processes (ManagedProcess). No shell is ever involved: arguments go
// to execve as they are, so names and keys never need quoting.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/** Outcome of a finished command. `code` is null when a signal ended it. */
export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunOptions {
  /** Kill the command (SIGKILL) and reject after this long. Default 30 000 ms. */
  timeoutMs?: number;
  /** Extra environment variables, merged over process.env. */
  env?: Record<string, string>;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Resolve with the result on a non-zero exit instead of throwing. Default false. */
  allowFail?: boolean;
}

/** A command that exited non-zero, was killed, timed out or could not start. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly command: readonly string[],
    readonly result: CommandResult | undefined,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

const DEFAULT_RUN_TIMEOUT_MS = 30_000;
/** Cap on what runCommand keeps of one stream; e2e commands print little. */
const RUN_OUTPUT_CAP = 8 * 1024 * 1024;

/**
 * Runs `cmd args...` to completion. Throws CommandError (message includes
 * the command line, exit status and stderr) unless it exits 0 or allowFail is set.
 */
export function runCommand(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const argv = [cmd, ...args];
  const timeoutMs = opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, {
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (err) {
      reject(new CommandError(`cannot start ${formatArgv(argv)}: ${String(err)}`, argv, undefined));
      return;
    }
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { if (stdout.length < RUN_OUTPUT_CAP) stdout += d; });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < RUN_OUTPUT_CAP) stderr += d; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new CommandError(`cannot start ${formatArgv(argv)}: ${err.message}`, argv, undefined));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: CommandResult = { stdout, stderr, code, signal };
      if (timedOut) {
        reject(new CommandError(`${formatArgv(argv)} timed out after ${timeoutMs} ms${describeStderr(stderr)}`, argv, result));
      } else if (code !== 0 && !opts.allowFail) {
        const status = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
        reject(new CommandError(`${formatArgv(argv)} ${status}${describeStderr(stderr)}`, argv, result));
      } else {
        resolve(result);
      }
    });
    // EPIPE when the command ignores stdin is not our concern.
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input ?? '');
  });
}

export interface ManagedProcessOptions {
  /** Label used in log file names and error messages. Default: basename of the command. */
  name?: string;
  /** Extra environment variables, merged over process.env. */
  env?: Record<string, string>;
  /** When set, stdout/stderr are also appended to `<logDir>/<name>.stdout.log` / `.stderr.log`. */
  logDir?: string;
  /** Bytes of each stream kept in memory (oldest dropped first). Default 256 KiB. */
  maxBufferBytes?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const DEFAULT_BUFFER_BYTES = 256 * 1024;
const DEFAULT_KILL_GRACE_MS = 3_000;
/** After SIGKILL the kernel reaps quickly; longer means something is badly stuck. */
const SIGKILL_WAIT_MS = 5_000;
/** How long to wait for output to drain after the process itself exited. */
const DRAIN_WAIT_MS = 1_000;

/**
 * A long-running child process with bounded in-memory output, optional log
 * files, and waits that fail with a readable message. It runs in its own
 * process group so kill() reaches anything it forked.
 */
export class ManagedProcess {
  readonly name: string;
  readonly argv: readonly string[];
  /** Resolves once the process has exited and its output is drained. Never rejects. */
  readonly exited: Promise<ExitInfo>;
  #child: ChildProcess;
  #out = '';
  #err = '';
  #cap: number;
  #exit: ExitInfo | undefined;
  #spawnError: Error | undefined;
  /** Exited and its output fully read (or given up on). */
  #drained = false;
  #logs: WriteStream[] = [];
  #listeners = new Set<() => void>();

  constructor(cmd: string, args: readonly string[], opts: ManagedProcessOptions = {}) {
    this.argv = [cmd, ...args];
    this.name = opts.name ?? cmd.split('/').pop() ?? cmd;
    this.#cap = opts.maxBufferBytes ?? DEFAULT_BUFFER_BYTES;
    this.#child = spawn(cmd, args, {
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const outLog = opts.logDir ? createWriteStream(join(opts.logDir, `${this.name}.stdout.log`), { flags: 'a' }) : undefined;
    const errLog = opts.logDir ? createWriteStream(join(opts.logDir, `${this.name}.stderr.log`), { flags: 'a' }) : undefined;
    for (const s of [outLog, errLog]) if (s) { s.on('error', () => {}); this.#logs.push(s); }
    this.#child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.#out = keepTail(this.#out + d, this.#cap);
      outLog?.write(d);
      this.#notify();
    });
    this.#child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.#err = keepTail(this.#err + d, this.#cap);
      errLog?.write(d);
      this.#notify();
    });
    this.exited = new Promise((resolve) => {
      const settle = (): void => {
        if (this.#drained) return;
        this.#drained = true;
        this.#closeLogs();
        this.#notify();
        resolve(this.#exit!);
      };
      this.#child.on('error', (err) => {
        // Spawn failure: 'close' may never come, so settle here.
        this.#spawnError = err;
        this.#setExit({ code: null, signal: null });
        settle();
      });
      this.#child.on('exit', (code, signal) => {
        this.#setExit({ code, signal });
        // A grandchild could hold the pipes open; do not wait forever for 'close'.
        setTimeout(settle, DRAIN_WAIT_MS).unref();
      });
      this.#child.on('close', (code, signal) => {
        this.#setExit({ code, signal });
        settle();
      });
    });
  }

  get pid(): number | undefined { return this.#child.pid; }
  /** Last maxBufferBytes of stdout. */
  get stdout(): string { return this.#out; }
  /** Last maxBufferBytes of stderr. */
  get stderr(): string { return this.#err; }
  /** Exit status once exited, otherwise undefined. */
  get exitInfo(): ExitInfo | undefined { return this.#exit; }
  get running(): boolean { return this.#exit === undefined; }

  /**
   * Resolves with the first match of `re` in stdout+stderr (output already
   * seen counts). Rejects on timeout or if the process exits without a match.
   */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const pattern = new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = this.#out.match(pattern) ?? this.#err.match(pattern);
        if (m) { done(); resolve(m); return true; }
        if (this.#drained && this.#exit) {
          done();
          reject(new Error(`${this.name} ${describeExit(this.#exit, this.#spawnError)} before printing ${pattern}\n${this.tail(20)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${this.name} to print ${pattern}\n${this.tail(20)}`));
      }, timeoutMs);
      const done = (): void => { clearTimeout(timer); this.#listeners.delete(listener); };
      const listener = (): void => { check(); };
      if (!check()) this.#listeners.add(listener);
    });
  }

  /** Resolves with the exit status; rejects if still running after timeoutMs. */
  async waitForExit(timeoutMs: number): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${this.name} (pid ${this.pid}) to exit\n${this.tail(20)}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends `signal` to the process group, then SIGKILL if it has not exited
   * within graceMs. Resolves with the exit status; safe to call repeatedly.
   */
  async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = DEFAULT_KILL_GRACE_MS): Promise<ExitInfo> {
    if (this.#exit) return this.#exit;
    this.#signalGroup(signal);
    if (signal !== 'SIGKILL') {
      try {
        return await this.waitForExit(graceMs);
      } catch {
        this.#signalGroup('SIGKILL');
      }
    }
    return this.waitForExit(SIGKILL_WAIT_MS);
  }

  /** Synchronous SIGKILL of the whole group, for process 'exit' handlers. */
  killNow(): void {
    if (!this.#exit) this.#signalGroup('SIGKILL');
  }

  /** The last `lines` lines of stdout and stderr, labelled, for failure reports. */
  tail(lines = 40): string {
    const pick = (s: string): string => s.split('\n').filter((l, i, a) => l !== '' || i < a.length - 1).slice(-lines).join('\n');
    const out = pick(this.#out);
    const err = pick(this.#err);
    const status = this.#exit ? describeExit(this.#exit, this.#spawnError) : `running (pid ${this.pid})`;
    return [
      `--- ${this.name}: ${formatArgv(this.argv)} [${status}]`,
      out ? `--- ${this.name} stdout (last ${lines} lines):\n${out}` : `--- ${this.name} stdout: (empty)`,
      err ? `--- ${this.name} stderr (last ${lines} lines):\n${err}` : `--- ${this.name} stderr: (empty)`,
    ].join('\n');
  }

  #signalGroup(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group may already be gone; fall back to the direct child.
      try { this.#child.kill(signal); } catch { /* already exited */ }
    }
  }

  #setExit(info: ExitInfo): void {
    if (this.#exit) return;
    this.#exit = info;
    this.#notify();
  }

  #closeLogs(): void {
    for (const s of this.#logs) s.end();
    this.#logs = [];
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }
}

export interface WaitForOptions {
  /** Give up after this long. Default 10 000 ms. */
  timeoutMs?: number;
  /** Pause between attempts. Default 100 ms. */
  intervalMs?: number;
  /** What is being waited for, e.g. "handshake on hxwga"; goes into the error. */
  what?: string;
}

/**
 * Polls `predicate` until it returns a truthy value, which is returned.
 * A throwing predicate counts as "not yet"; its last error is reported on timeout.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let lastError: unknown;
  for (;;) {
    attempts++;
    try {
      const v = await predicate();
      if (v) return v as NonNullable<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const last = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  throw new Error(`timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${opts.what ?? 'condition'}${last}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Renders argv for messages, quoting only what needs it. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function describeStderr(stderr: string): string {
  const s = stderr.trim();
  return s ? `: ${s.length > 2000 ? '…' + s.slice(-2000) : s}` : ' (no stderr)';
}

function describeExit(e: ExitInfo, spawnError: Error | undefined): string {
  if (spawnError) return `failed to start (${spawnError.message})`;
  return e.code === null ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
}

function keepTail(s: string, cap: number): string {
  return s.length > cap ? s.slice(s.length - cap) : s;
}
