// iperf3 TCP throughput through a tunnel between two namespaces, built the same way for our
// engine (ours ↔ ours) and for wireguard-go (wireguard-go ↔ wireguard-go), so the ratio is fair.
// A pair is built once and measured several times (rounds interleaved with the other engine's by
// the caller), so the medians compare like with like on a busy machine.
import { readFile } from 'node:fs/promises';
import { runIperf } from '../e2e/lib/iperf.js';
import { Lab } from '../e2e/lib/netns.js';
import { openTunnelPair, type Engine, type TunnelPairOptions } from './tunnel-pair.js';

export interface ThroughputResult {
  engine: Engine;
  mbitPerSecond: number;
  reverseMbitPerSecond: number;
  /** CPU seconds (user + system) both daemons used during each iperf3 run. */
  cpuSeconds: number;
  reverseCpuSeconds: number;
  /** Bytes iperf3 moved in each run (to turn CPU time into a cost per packet). */
  bytes: number;
  reverseBytes: number;
}

export interface ThroughputOptions {
  daemon?: TunnelPairOptions['daemon'];
  /** Namespace/interface tag (3 characters) so variants never share names. */
  tag?: string;
}

/** A tunnel between two namespaces, ready for iperf3 runs. */
export interface ThroughputPair {
  readonly engine: Engine;
  /** One iperf3 run each way (`seconds` each) with the daemons' CPU time. */
  measure(seconds: number): Promise<ThroughputResult>;
  close(): Promise<void>;
}

export async function openThroughputPair(engine: Engine, opts: ThroughputOptions = {}): Promise<ThroughputPair> {
  const tag = opts.tag ?? (engine === 'wgp2p' ? 'btw' : 'btg');
  const lab = await Lab.create(undefined, { name: `${tag}-bench` });
  try {
    const { a, b, peerAddress, pids } = await openTunnelPair(lab, tag, engine, { subnet: '10.78.0', ...(opts.daemon && { daemon: opts.daemon }) });
    return {
      engine,
      async measure(seconds) {
        const cpu0 = await cpuSeconds(pids);
        const fwd = await runIperf(a, b, peerAddress, { seconds });
        const cpu1 = await cpuSeconds(pids);
        const rev = await runIperf(a, b, peerAddress, { seconds, reverse: true });
        const cpu2 = await cpuSeconds(pids);
        return {
          engine,
          mbitPerSecond: fwd.bitsPerSecond / 1e6,
          reverseMbitPerSecond: rev.bitsPerSecond / 1e6,
          cpuSeconds: cpu1 - cpu0,
          reverseCpuSeconds: cpu2 - cpu1,
          bytes: fwd.bytes,
          reverseBytes: rev.bytes,
        };
      },
      close: () => lab.destroy({ passing: true }),
    };
  } catch (e) {
    await lab.destroy({ passing: false });
    throw e;
  }
}

/** One pair, one measurement (the relay bench and profiling use this). */
export async function measureThroughput(engine: Engine, seconds: number, opts: ThroughputOptions = {}): Promise<ThroughputResult> {
  const pair = await openThroughputPair(engine, opts);
  try {
    return await pair.measure(seconds);
  } finally {
    await pair.close();
  }
}

/** Medians of several runs of one pair: throughput each way and daemon CPU per packet. */
export interface ThroughputSummary {
  engine: Engine;
  label: string;
  runs: ThroughputResult[];
  mbitPerSecond: number;
  reverseMbitPerSecond: number;
  usPerPacket: number;
  reverseUsPerPacket: number;
}

// Bytes of TCP payload in one full-size packet through a 1420-byte tunnel MTU (the unit of
// "CPU per packet", so both engines are charged alike).
const PAYLOAD_PER_PACKET = 1368;

export function usPerPacket(cpuSeconds: number, bytes: number): number {
  return (cpuSeconds * 1e6) / (bytes / PAYLOAD_PER_PACKET);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(label: string, runs: ThroughputResult[]): ThroughputSummary {
  return {
    engine: runs[0]!.engine,
    label,
    runs,
    mbitPerSecond: median(runs.map((r) => r.mbitPerSecond)),
    reverseMbitPerSecond: median(runs.map((r) => r.reverseMbitPerSecond)),
    usPerPacket: median(runs.map((r) => usPerPacket(r.cpuSeconds, r.bytes))),
    reverseUsPerPacket: median(runs.map((r) => usPerPacket(r.reverseCpuSeconds, r.reverseBytes))),
  };
}

export interface Variant {
  label: string;
  engine: Engine;
  opts?: ThroughputOptions;
}

/**
 * Builds every variant's pair, then measures them round-robin `rounds` times (so load from other
 * processes spreads over all of them alike) and returns each variant's medians.
 */
export async function measureRounds(variants: Variant[], seconds: number, rounds: number): Promise<ThroughputSummary[]> {
  const pairs: ThroughputPair[] = [];
  try {
    for (const v of variants) pairs.push(await openThroughputPair(v.engine, v.opts));
    const runs: ThroughputResult[][] = variants.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < pairs.length; i++) runs[i]!.push(await pairs[i]!.measure(seconds));
    }
    return variants.map((v, i) => summarize(v.label, runs[i]!));
  } finally {
    for (const p of pairs) await p.close();
  }
}

// utime + stime from /proc/PID/stat, in seconds (USER_HZ is 100 on Linux). The daemons run under
// `ip netns exec`, which execs them, so the spawned pid is the daemon itself.
async function cpuSeconds(pids: (number | undefined)[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    if (pid === undefined) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]); // fields 14 and 15 of the whole line
  }
  return ticks / 100;
}
