// Idle cost: the CPU our daemons use with nothing to send, next to wireguard-go in the same
// window. Three set-ups run side by side in namespaces: a `wgp2p up` pair and a wireguard-go pair
// (one peer each, persistent keepalive 25 s), and a room of four `wgp2p join` agents on one LAN
// with a signal server. Once every tunnel is up and the first seconds of path finding are over,
// each daemon's utime + stime is read from /proc before and after the window.
import { readFile } from 'node:fs/promises';
import { Lab, addAddress, addBridge, type Netns, vethPair } from '../e2e/lib/netns.js';
import { openTunnelPair, type Engine } from './tunnel-pair.js';
import { startJoinAgent, startSignalServer, type JoinAgent } from '../e2e/lib/join-agent.js';
import { waitFor } from '../e2e/lib/process.js';

/** The window the issue asks for; WGP2P_BENCH_IDLE_SECONDS shortens it for trial runs. */
export const IDLE_SECONDS = 60;
const KEEPALIVE_SECONDS = 25;
const JOIN_MEMBERS = 4;
/** After the paths are up, path finding settles (sessions end, heartbeats back off) before measuring. */
const SETTLE_MS = 15_000;
const USER_HZ = 100;

export interface IdleResult {
  seconds: number;
  /** % of one core per daemon, averaged over the daemons of each set-up. */
  up: number;
  wireguardGo: number;
  join: number;
  /** Each join agent's own figure. */
  joinEach: number[];
}

export async function measureIdle(seconds = IDLE_SECONDS): Promise<IdleResult> {
  const lab = await Lab.create(undefined, { name: 'idle-bench' });
  try {
    const [ours, ref, room] = await Promise.all([tunnelPair(lab, 'biw', 'wgp2p'), tunnelPair(lab, 'big', 'wireguard-go'), joinRoom(lab, 'bij')]);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const groups = [ours, ref, room];
    const before = await Promise.all(groups.map((g) => Promise.all(g.map(cpuTicks))));
    const started = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const elapsed = (Date.now() - started) / 1000;
    const after = await Promise.all(groups.map((g) => Promise.all(g.map(cpuTicks))));
    const percent = (i: number) => after[i]!.map((t, j) => (100 * (t - before[i]![j]!)) / USER_HZ / elapsed);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const joinEach = percent(2);
    return { seconds: elapsed, up: avg(percent(0)), wireguardGo: avg(percent(1)), join: avg(joinEach), joinEach };
  } finally {
    await lab.destroy({ passing: true });
  }
}

/** A tunnel between two namespaces with one peer each; returns the daemons' pids. */
async function tunnelPair(lab: Lab, tag: string, engine: Engine): Promise<number[]> {
  return (await openTunnelPair(lab, tag, engine, { subnet: '10.79.0', persistentKeepalive: KEEPALIVE_SECONDS })).pids;
}

/** A signal server and JOIN_MEMBERS agents on one bridge; resolves once every pair has a direct path. */
async function joinRoom(lab: Lab, tag: string): Promise<number[]> {
  const hub = await lab.netns(`${tag}-net`);
  await addBridge(hub, 'br0');
  const hosts: Netns[] = [];
  for (let i = 0; i <= JOIN_MEMBERS; i++) {
    const ns = await lab.netns(`${tag}-${i}`);
    await vethPair(ns, 'eth0', hub, `${tag}p${i}`);
    await hub.exec('ip', ['link', 'set', `${tag}p${i}`, 'master', 'br0']);
    await addAddress(ns, 'eth0', `203.0.113.${10 + i}/24`);
    hosts.push(ns);
  }
  const server = await startSignalServer(hosts[0]!, '203.0.113.10');
  const agents: JoinAgent[] = [];
  for (let i = 1; i <= JOIN_MEMBERS; i++) {
    agents.push(await startJoinAgent(hosts[i]!, { room: 'idle-bench', server: server.url, secret: 'idle-bench-secret-0123456789abcdef', name: `m${i}`, ifname: `${tag}wg${i}`, args: ['--log-level', 'info'] }));
  }
  await waitFor(async () => {
    const all = await Promise.all(agents.map((a) => a.status()));
    return all.every((s) => s.peers.length === JOIN_MEMBERS - 1 && s.peers.every((p) => p.path === 'direct'));
  }, { timeoutMs: 60_000, intervalMs: 500, what: 'every member with a direct path to every other' });
  return agents.map((a) => a.process.pid!);
}

async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, fields 14 and 15 of the line
}
