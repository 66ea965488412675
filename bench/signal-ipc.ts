// The messages between the signal-server bench and its child processes (over Node IPC), and
// how those children are started both from dist/ (npm run bench) and from TypeScript sources.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface HostConfig {
  maxAgents: number;
}

export type ToHost = { cmd: 'mem' } | { cmd: 'stop' };
export type FromHost =
  | { type: 'listening'; port: number }
  | { type: 'mem'; rss: number; heapUsed: number; connectedAgents: number; members: number };

export interface ConnectCommand {
  cmd: 'connect';
  url: string;
  agents: number;
  roomSize: number;
  localAddress: string;
  concurrency: number;
}
export interface ProbeCommand {
  cmd: 'probe';
  probes: number;
  intervalMs: number;
}
export type ToClients = ConnectCommand | ProbeCommand | { cmd: 'stop' };
export type FromClients =
  | { type: 'connected'; agents: number }
  | { type: 'probed'; latencies: number[]; expected: number }
  | { type: 'failed'; error: string };

const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * Starts bench/<name> as a Node child with an IPC channel. `fdLimit` raises the soft and hard
 * open-file limits first (through sh's ulimit, which works as root), since Node cannot.
 */
export function startChild(name: string, nodeFlags: string[], args: string[], fdLimit: number): ChildProcess {
  const script = fileURLToPath(new URL(`./${name}${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url));
  const loader = FROM_SOURCE ? process.execArgv.filter((a) => a.includes('@tapjs/typescript')) : [];
  if (FROM_SOURCE && loader.length === 0) loader.push(`--import=${import.meta.resolve('@tapjs/typescript/import')}`);
  // Hard limit first (only root may raise it), then the soft one; if either is refused the
  // child runs with the limits it inherited.
  const shell = `ulimit -Hn ${fdLimit} 2>/dev/null; ulimit -Sn ${fdLimit} 2>/dev/null; exec "$@"`;
  return spawn('sh', ['-c', shell, 'sh', process.execPath, ...loader, ...nodeFlags, script, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', NODE_OPTIONS: '' },
  });
}

/** The next IPC message from `child` that `match` accepts; rejects on exit or timeout. */
export function nextMessage<T>(child: ChildProcess, match: (m: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (fn: () => void) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      fn();
    };
    const onMessage = (m: unknown) => {
      const msg = m as T & { type?: string; error?: string };
      if (msg.type === 'failed') done(() => reject(new Error(`${what}: ${msg.error}`)));
      else if (match(msg)) done(() => resolve(msg));
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(() => reject(new Error(`${what}: child exited (${code ?? signal})`)));
    const timer = setTimeout(() => done(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`))), timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
