// Runs one of our TypeScript entry points in a separate Node process, the way the test runner
// runs tests (ts-node through tap's loader), so process-level behaviour (signals, exit codes,
// network namespaces) is tested without depending on a build in dist/.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root, so scripts can be named relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Node flags that load TypeScript sources: the runner's own loader when we have one. */
export function tsLoaderArgs(): string[] {
  const fromRunner = process.execArgv.filter((a) => a.startsWith('--import=') && a.includes('@tapjs/typescript'));
  return fromRunner.length > 0 ? fromRunner : [`--import=${import.meta.resolve('@tapjs/typescript/import')}`];
}

/** Full argv after `node` for running `script` (relative to the repo root) with `args`. */
export function tsScriptArgv(script: string, args: readonly string[]): string[] {
  return [...tsLoaderArgs(), '--enable-source-maps', `${REPO_ROOT}${script}`, ...args];
}

/**
 * Environment for such a child: type checking off (the suite type-checks separately; compiling
 * with checks would make every start take seconds) and the runner's coverage hooks left out.
 */
export function tsChildEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { TS_NODE_TRANSPILE_ONLY: '1', NODE_OPTIONS: '', ...extra };
}

export interface LogRecord {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** A child running `wgp2p server` from source, with its JSON log lines parsed as they come. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly logs: LogRecord[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<() => void>();

  constructor(args: readonly string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, tsScriptArgv('cli/main.ts', ['server', ...args]), {
      env: { ...process.env, ...tsChildEnv(env) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as LogRecord);
        } catch {
          // Not a log record (e.g. a usage error); kept in `stderr`.
        }
      }
      this.listeners.forEach((l) => l());
    });
    this.child.stdout!.resume();
    // 'close' rather than 'exit': by then every log line has been read.
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
        this.listeners.forEach((l) => l());
      }),
    );
  }

  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  /** The first log record with message `msg`; rejects on timeout or if the process exits first. */
  waitForLog(msg: string, timeoutMs = 15_000): Promise<LogRecord> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.logs.find((r) => r.msg === msg);
        if (hit) finish(() => resolve(hit));
        else if (this.exitInfo) finish(() => reject(new Error(`server exited before logging "${msg}":\n${this.stderr}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no "${msg}" log within ${timeoutMs} ms:\n${this.stderr}`))), timeoutMs);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        then();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Ports from the "signal server listening" record. */
  async listening(): Promise<{ httpPort: number; stunPort: number | null; stunAltPort: number | null }> {
    const r = await this.waitForLog('signal server listening');
    const httpPort = Number(String(r.listen).split(':').pop());
    return { httpPort, stunPort: r.stunPort as number | null, stunAltPort: r.stunAltPort as number | null };
  }

  /** Best-effort cleanup for teardown. */
  async stop(): Promise<void> {
    if (this.exitInfo) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
