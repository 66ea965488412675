// Signal-server figures for `npm run bench`: how many agents one server process holds, its
// memory per connection, and how fast a member announcement fans out to a room.
//
// The server runs alone in a child process (bench/signal-server-host) so its RSS is its own;
// the agents are real WebSocket clients spread over a few more child processes
// (bench/signal-clients), each from its own loopback address, in rooms of ROOM_SIZE.
import type { ChildProcess } from 'node:child_process';
import {
  nextMessage,
  startChild,
  type FromClients,
  type FromHost,
  type HostConfig,
  type ToClients,
  type ToHost,
} from './signal-ipc.js';

export interface SignalServerBench {
  concurrentAgents: number;
  bytesPerConnection: number;
  fanoutP50Ms: number;
  fanoutP99Ms: number;
}

const ROOM_SIZE = 10;
const AGENTS_PER_CLIENT_PROCESS = 2500;
/** Whole run, start to cleanup; the issue allows the bench under two minutes. */
const DEADLINE_MS = 110_000;
/** Announcements per client process, one every PROBE_INTERVAL_MS. */
const PROBES = 600;
const PROBE_INTERVAL_MS = 5;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function stopChild(child: ChildProcess, stop: object): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    child.send(stop);
  } catch {
    // IPC already gone: the signal below does it.
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function run(agents: number, children: ChildProcess[]): Promise<SignalServerBench> {
  const hostConfig: HostConfig = { maxAgents: agents };
  const host = startChild('signal-server-host', ['--expose-gc', '--max-old-space-size=4096'], [JSON.stringify(hostConfig)], agents + 4096);
  children.push(host);
  const { port } = await nextMessage<FromHost & { type: 'listening' }>(host, (m) => m.type === 'listening', 30_000, 'server start');
  const mem = async () => {
    host.send({ cmd: 'mem' } satisfies ToHost);
    return nextMessage<FromHost & { type: 'mem' }>(host, (m) => m.type === 'mem', 30_000, 'server memory');
  };
  const before = await mem();

  const shares: number[] = [];
  for (let left = agents; left > 0; left -= AGENTS_PER_CLIENT_PROCESS) shares.push(Math.min(left, AGENTS_PER_CLIENT_PROCESS));
  const clients = shares.map(() => startChild('signal-clients', ['--max-old-space-size=2048'], [], AGENTS_PER_CLIENT_PROCESS + 1024));
  children.push(...clients);
  await Promise.all(
    clients.map((c, i) => {
      const cmd: ToClients = {
        cmd: 'connect',
        url: `ws://127.0.0.1:${port}/ws`,
        agents: shares[i]!,
        roomSize: ROOM_SIZE,
        localAddress: `127.0.1.${1 + i}`, // one source address each: ephemeral ports never run out
        concurrency: 100,
      };
      c.send(cmd);
      return nextMessage<FromClients>(c, (m) => m.type === 'connected', DEADLINE_MS, `client process ${i} connecting`);
    }),
  );
  const after = await mem();
  if (after.connectedAgents !== agents || after.members !== agents) {
    throw new Error(`server holds ${after.connectedAgents} agents in ${after.members} memberships, expected ${agents}`);
  }

  const probed = await Promise.all(
    clients.map((c, i) => {
      c.send({ cmd: 'probe', probes: PROBES, intervalMs: PROBE_INTERVAL_MS } satisfies ToClients);
      return nextMessage<FromClients & { type: 'probed' }>(c, (m) => m.type === 'probed', 60_000, `client process ${i} probing`);
    }),
  );
  const latencies = probed.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const expected = probed.reduce((n, p) => n + p.expected, 0);
  if (latencies.length !== expected) throw new Error(`${expected - latencies.length} of ${expected} announcements never arrived`);
  return {
    concurrentAgents: after.connectedAgents,
    bytesPerConnection: Math.max(0, (after.rss - before.rss) / agents),
    fanoutP50Ms: percentile(latencies, 50),
    fanoutP99Ms: percentile(latencies, 99),
  };
}

/** Runs the bench (default 10,000 agents); bounded in time, and always cleans up its processes. */
export async function benchSignalServer(opts: { agents?: number } = {}): Promise<SignalServerBench> {
  const agents = opts.agents ?? 10_000;
  if (!Number.isInteger(agents) || agents < ROOM_SIZE) throw new RangeError(`agents must be an integer >= ${ROOM_SIZE}`);
  const children: ChildProcess[] = [];
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`signal-server bench took longer than ${DEADLINE_MS / 1000} s`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([run(agents, children), deadline]);
  } finally {
    clearTimeout(timer);
    // Clients first, so the server does not spend its shutdown on 10,000 close handshakes.
    await Promise.all(children.slice(1).map((c) => stopChild(c, { cmd: 'stop' })));
    if (children[0]) await stopChild(children[0], { cmd: 'stop' });
  }
}
