// `wgp2p server` and `wgp2p join` as users run them, inside namespaces, for the join e2e tests:
// start them, read `wgp2p status --json`, run `wgp2p ping`, ping through the tunnel, stop them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Netns } from './netns.js';
import { runCommand, type CommandResult, type ManagedProcess } from './process.js';
import { cliPath } from './wgp2p-tunnel.js';

export interface JoinPeerStatus {
  name?: string;
  /** Its name in the room's DNS, e.g. bob.office. */
  dnsName?: string;
  publicKey: string;
  address?: string;
  path?: 'direct' | 'relay';
  /** For a relayed path: 'server', 'ws' or the bounce's name. */
  relay?: string;
  offersExitNode?: boolean;
  offersExitNodeIpv6?: boolean;
  endpoint?: string;
  rttMs?: number;
  lastHandshake?: string;
  rxBytes: number;
  txBytes: number;
}

export interface JoinStatus {
  self: {
    name?: string; dnsName?: string; publicKey?: string; address?: string; interface: string; listenPort: number; portmap?: string;
    advertisedRoutes?: string[]; advertisesExitNode?: boolean; advertisesExitNodeIpv6?: boolean; acceptedRoutes?: { prefix: string; via: string }[]; exitNode?: string; exitNodeIpv6?: boolean;
  };
  peers: JoinPeerStatus[];
  counters: Record<string, number>;
}

export interface SignalServerHandle {
  process: ManagedProcess;
  url: string;
  stop(): Promise<void>;
}

/**
 * `wgp2p server` on `ip`:8080 with STUN on 3478 and the RFC 5780 alternate port 3479 (unless
 * `args` set --stun-port), plus `args`, e.g. --relay.
 */
export async function startSignalServer(ns: Netns, ip: string, name = 'server', args: string[] = [], nodeArgs: string[] = []): Promise<SignalServerHandle> {
  const stun = args.includes('--stun-port') ? [] : ['--stun-port', '3478', '--stun-alt-port', '3479'];
  const proc = ns.spawn('node', ['--enable-source-maps', ...nodeArgs, cliPath(), 'server', '--listen', `${ip}:8080`, ...stun, '--stun-public-ip', ip, '--log-level', 'debug', ...args], {
    name: `${ns.name}.${name}`,
  });
  await proc.waitForOutput(/signal server listening/, 20_000);
  return { process: proc, url: `ws://${ip}:8080/ws`, stop: async () => void (await proc.kill('SIGTERM')) };
}

export interface JoinAgentOptions {
  name: string;
  /** Room, server and secret may come from the state directory instead (rooms with admins). */
  room?: string;
  server?: string;
  secret?: string;
  ifname: string;
  /** Kept after the agent stops (default: a new one, removed when it stops). */
  stateDir?: string;
  /** More flags, e.g. ['--listen-port', '41000']. */
  args?: string[];
  /** Flags for node itself, e.g. ['--cpu-prof'] (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
}

export interface JoinAgent {
  readonly ns: Netns;
  readonly name: string;
  readonly ifname: string;
  readonly process: ManagedProcess;
  /** Wall clock (Date.now()) when the process was spawned. */
  readonly startedAt: number;
  status(): Promise<JoinStatus>;
  /** Runs `wgp2p ARGS --interface IF` in the agent's namespace. */
  cli(args: string[], allowFail?: boolean): Promise<CommandResult>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `wgp2p join` (the secret through WGP2P_SECRET) and waits for its control socket. */
/**
 * A clean exit undoes what the agent changed on the host (port mappings, nft tables, sysctls, the
 * TUN device), which can take seconds on a loaded machine; tests check that undo after stop().
 */
const STOP_GRACE_MS = 10_000;

export async function startJoinAgent(ns: Netns, o: JoinAgentOptions): Promise<JoinAgent> {
  const stateDir = o.stateDir ?? (await mkdtemp(join(tmpdir(), `wgp2p-e2e-join-${o.name}-`)));
  const startedAt = Date.now();
  const proc = ns.spawn(
    'node',
    ['--enable-source-maps', ...(o.nodeArgs ?? []), cliPath(), 'join', ...(o.room ? ['--room', o.room] : []), ...(o.server ? ['--server', o.server] : []), '--name', o.name, '--interface', o.ifname, '--state-dir', stateDir, '--log-level', 'debug', ...(o.args ?? [])],
    { name: `${ns.name}.join.${o.name}`, env: o.secret === undefined ? {} : { WGP2P_SECRET: o.secret } },
  );
  let stopped = false;
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (stopped) return;
    stopped = true;
    await proc.kill(signal, STOP_GRACE_MS);
    if (!o.stateDir) await rm(stateDir, { recursive: true, force: true });
  };
  ns.onDelete(stop, () => proc.killNow());
  const cli = (args: string[], allowFail = false) => ns.exec('node', [cliPath(), ...args, '--interface', o.ifname], { allowFail, timeoutMs: 15_000 });
  const status = async () => JSON.parse((await cli(['status', '--json'])).stdout) as JoinStatus;
  // "joining" comes once the tunnel is up (its control socket listens before "tunnel up") and
  // the agent itself runs (the room key is derived meanwhile): no need to poll the socket
  // (which would also compete with the starting agent for CPU).
  await proc.waitForOutput(/"msg":"joining"/, 20_000);
  return { ns, name: o.name, ifname: o.ifname, process: proc, startedAt, status, cli, stop };
}

/**
 * Pings `address` through the tunnel every 50 ms until the first answer; resolves with the wall
 * clock time (ms) of that answer, as ping itself stamped it (-D). While the tunnel's route does
 * not exist yet, ping fails at once and is restarted.
 */
export async function firstPing(ns: Netns, address: string, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const left = Math.max(1, Math.ceil((end - Date.now()) / 1000));
    const r = await runCommand('ip', ['netns', 'exec', ns.name, 'ping', '-D', '-n', '-c', '1', '-i', '0.05', '-w', String(left), address], { allowFail: true, timeoutMs: left * 1000 + 5_000 });
    const stamp = /^\[(\d+\.\d+)\] \d+ bytes from/m.exec(r.stdout);
    if (r.code === 0 && stamp) return Math.round(Number(stamp[1]) * 1000);
    if (Date.now() >= end) throw new Error(`no ping answer from ${address} in ${ns.name} within ${timeoutMs} ms: ${(r.stdout + r.stderr).trim().split('\n').pop()}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** `ping -c N` through the tunnel: how many answered. */
export async function pingCount(ns: Netns, address: string, count: number, intervalS = 0.2): Promise<number> {
  const r = await ns.exec('ping', ['-c', String(count), '-i', String(intervalS), '-W', '2', address], { allowFail: true, timeoutMs: count * intervalS * 1000 + 10_000 });
  const m = /(\d+) received/.exec(r.stdout);
  return m ? Number(m[1]) : 0;
}

export interface PingStream {
  sent: number;
  received: number;
  /** Wall clock ms of every answer, in order. */
  answers: number[];
  /** Longest time without an answer, counting from the start and to the end. */
  longestGapMs: number;
}

/** `ping -i interval` for `seconds`, with timestamps: how many answered and the longest silence. */
export async function pingStream(ns: Netns, address: string, seconds: number, intervalS = 0.2): Promise<PingStream> {
  const started = Date.now();
  const r = await ns.exec('ping', ['-D', '-n', '-i', String(intervalS), '-w', String(seconds), address], { allowFail: true, timeoutMs: seconds * 1000 + 10_000 });
  const ended = Date.now();
  const answers = [...r.stdout.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Math.round(Number(m[1]) * 1000));
  const points = [started, ...answers, ended];
  const longestGapMs = Math.max(...points.slice(1).map((x, i) => x - points[i]!));
  const sent = Number(/(\d+) packets transmitted/.exec(r.stdout)?.[1] ?? 0);
  return { sent, received: answers.length, answers, longestGapMs };
}
