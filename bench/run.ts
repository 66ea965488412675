// `npm run bench`: prints every performance figure of the project, with wireguard-go measured in
// the same run as the yardstick. Needs root (namespaces) and the e2e tools (see README).
import { cryptoChoice } from './crypto-choice.js';
import { handshakesPerSecond, transportPacketsPerSecond } from './engine-cpu.js';
import { measureRounds, type ThroughputSummary } from './tunnel-throughput.js';
import type { PhaseCpu } from './relay-throughput.js';
import { NO_TUN_OFFLOAD_ENV, NO_UDP_GRO_ENV, NO_UDP_GSO_ENV } from '../agent/daemon/offload-switches.js';
import { NO_NATIVE_AEAD_ENV } from '../agent/wireguard/aead.js';

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
const section = (s: string) => console.log(`\n== ${s}`);

// Short runs by default: the machine is shared, and three rounds of each beat one long run.
function benchRuns(): { seconds: number; rounds: number } {
  const seconds = Number(process.env.WGP2P_BENCH_SECONDS ?? 5);
  const rounds = Number(process.env.WGP2P_BENCH_ROUNDS ?? 3);
  if (!(Number.isInteger(seconds) && seconds > 0 && Number.isInteger(rounds) && rounds > 0)) {
    throw new Error('WGP2P_BENCH_SECONDS and WGP2P_BENCH_ROUNDS must be positive integers');
  }
  return { seconds, rounds };
}

function printSummaries(rows: ThroughputSummary[]): void {
  for (const r of rows) {
    const each = r.runs.map((x) => `${Math.round(x.mbitPerSecond)}/${Math.round(x.reverseMbitPerSecond)}`).join(' ');
    console.log(
      `${r.label.padEnd(18)} ${fmt(r.mbitPerSecond)} Mbit/s (reverse ${fmt(r.reverseMbitPerSecond)})` +
        `  daemons' CPU ${r.usPerPacket.toFixed(1)} / ${r.reverseUsPerPacket.toFixed(1)} µs per packet  [runs: ${each}]`,
    );
  }
}

async function main(): Promise<void> {
  const only = new Set(process.argv.slice(2));
  const want = (s: string) => only.size === 0 || only.has(s);

  if (want('crypto')) {
    section('crypto per job on one core (node:crypto vs @noble vs our native AEAD)');
    for (const [k, v] of Object.entries(cryptoChoice())) console.log(`${k.padEnd(52)} ${fmt(v)}`);
  }
  if (want('engine')) {
    section('pure engine on one core');
    console.log(`handshakes per second (initiator + responder work)   ${fmt(handshakesPerSecond())}`);
    const t = transportPacketsPerSecond();
    console.log(`transport seal, 1420 B packets/s                     ${fmt(t.seal)} (${fmt((t.seal * 1420 * 8) / 1e6)} Mbit/s)`);
    console.log(`transport open, 1420 B packets/s                     ${fmt(t.open)} (${fmt((t.open * 1420 * 8) / 1e6)} Mbit/s)`);
  }
  if (want('throughput')) {
    if (process.getuid?.() !== 0) throw new Error('the throughput bench needs root (network namespaces)');
    const { seconds, rounds } = benchRuns();
    section(`TCP throughput through the tunnel (iperf3 ${seconds} s each way, two namespaces on a veth; median of ${rounds} rounds)`);
    const [ours, ref] = await measureRounds([{ label: 'wgp2p', engine: 'wgp2p' }, { label: 'wireguard-go', engine: 'wireguard-go' }], seconds, rounds);
    printSummaries([ours!, ref!]);
    console.log(`ratio wgp2p / wireguard-go (medians): ${(ours!.mbitPerSecond / ref!.mbitPerSecond).toFixed(2)} (reverse ${(ours!.reverseMbitPerSecond / ref!.reverseMbitPerSecond).toFixed(2)});` +
      ` CPU per packet ${(ours!.usPerPacket / ref!.usPerPacket).toFixed(2)} (reverse ${(ours!.reverseUsPerPacket / ref!.reverseUsPerPacket).toFixed(2)})`);
  }
  // Opt-in (five tunnels, a few minutes): only when asked for by name.
  if (only.has('offloads')) {
    if (process.getuid?.() !== 0) throw new Error('the offloads bench needs root (network namespaces)');
    const { seconds, rounds } = benchRuns();
    section(`what each offload gives (ours <-> ours, iperf3 ${seconds} s each way; median of ${rounds} rounds)`);
    const off = (env: Record<string, string>, tag: string) => ({ engine: 'wgp2p' as const, opts: { daemon: { env }, tag } });
    const rows = await measureRounds(
      [
        { label: 'all offloads on', ...off({}, 'bo0') },
        { label: 'no UDP GSO/GRO', ...off({ [NO_UDP_GSO_ENV]: '1', [NO_UDP_GRO_ENV]: '1' }, 'bo1') },
        { label: 'no TUN offload', ...off({ [NO_TUN_OFFLOAD_ENV]: '1' }, 'bo2') },
        { label: 'all offloads off', ...off({ [NO_UDP_GSO_ENV]: '1', [NO_UDP_GRO_ENV]: '1', [NO_TUN_OFFLOAD_ENV]: '1' }, 'bo3') },
        { label: 'no native AEAD', ...off({ [NO_NATIVE_AEAD_ENV]: '1' }, 'bo4') },
        { label: 'wireguard-go', engine: 'wireguard-go' },
      ],
      seconds,
      rounds,
    );
    printSummaries(rows);
    const ref = rows[rows.length - 1]!;
    for (const r of rows.slice(0, -1)) {
      console.log(`${r.label.padEnd(18)} / wireguard-go: ${(r.mbitPerSecond / ref.mbitPerSecond).toFixed(2)} (reverse ${(r.reverseMbitPerSecond / ref.reverseMbitPerSecond).toFixed(2)})`);
    }
  }
  if (want('join')) {
    if (process.getuid?.() !== 0) throw new Error('the join bench needs root (network namespaces)');
    section('join: second join to first ping over the direct path (NAT lab, port-restricted <-> port-restricted)');
    const { measureJoinLatency, median } = await import('./join-latency.js');
    const j = await measureJoinLatency(10);
    console.log(`median of ${j.firstPingMs.length} runs          ${fmt(median(j.firstPingMs))} ms  (min ${fmt(Math.min(...j.firstPingMs))}, max ${fmt(Math.max(...j.firstPingMs))}; target < 1000 ms)`);
    console.log(`of which "joining" -> path up    ${fmt(median(j.joinToPathMs))} ms median (the rest: starting Node, TUN, STUN)`);
    if (j.failures) console.log(`runs without a direct path      ${j.failures}`);
  }
  if (want('relay')) {
    if (process.getuid?.() !== 0) throw new Error('the relay bench needs root (network namespaces)');
    section('relay: TCP throughput of one pair, direct and through the server\'s UDP relay (NAT lab, iperf3 5 s each way)');
    const { measureRelayThroughput } = await import('./relay-throughput.js');
    const r = await measureRelayThroughput(5, { ws: process.env.WGP2P_BENCH_WS_RELAY === '1', bounce: process.env.WGP2P_BENCH_BOUNCE_RELAY === '1' });
    const cpu = (c: PhaseCpu) =>
      `CPU s a ${c.a.toFixed(2)}, b ${c.b.toFixed(2)}, relay ${c.relay.toFixed(2)}; UDP drops ${c.udpDrops}; agents' GSO sends ${c.gsoSends}, GRO receives ${c.groReceives}` +
      (c.relayDropped ? `; relay dropped ${JSON.stringify(c.relayDropped)}` : '');
    const row = (label: string, x: { mbitPerSecond: number; reverseMbitPerSecond: number; cpu?: PhaseCpu }) =>
      console.log(`${label.padEnd(52)} ${fmt(x.mbitPerSecond)} Mbit/s  (reverse ${fmt(x.reverseMbitPerSecond)} Mbit/s)${x.cpu ? `  ${cpu(x.cpu)}` : ''}`);
    // CPU per Gbit carried (both directions): steadier than Mbit/s on a shared machine.
    const perGbit = (label: string, x: { mbitPerSecond: number; reverseMbitPerSecond: number; cpu: PhaseCpu }) => {
      const gbit = ((x.mbitPerSecond + x.reverseMbitPerSecond) * r.seconds) / 1000;
      console.log(`${label}: CPU s per Gbit, agents ${((x.cpu.a + x.cpu.b) / gbit).toFixed(2)}, relay ${(x.cpu.relay / gbit).toFixed(2)}`);
    };
    const ratio = (label: string, x: { mbitPerSecond: number; reverseMbitPerSecond: number }) =>
      console.log(`ratio ${label} / direct: ${(x.mbitPerSecond / r.direct.mbitPerSecond).toFixed(2)} (reverse ${(x.reverseMbitPerSecond / r.direct.reverseMbitPerSecond).toFixed(2)})`);
    row('direct (port-restricted <-> port-restricted)', r.direct);
    row('same pair, direct UDP dropped: server UDP relay', r.server);
    ratio('server-relayed', r.server);
    perGbit('direct', r.direct);
    perGbit('server-relayed', r.server);
    if (r.bounce) {
      row('relayed through a bounce (symmetric <-> symmetric)', r.bounce);
      ratio('bounce-relayed', r.bounce);
      console.log(`bounce relayed ${r.bounce.relayedPackets.toLocaleString('en-US')} packets, ${((r.bounce.cpu.relay * 1e6) / r.bounce.relayedPackets).toFixed(1)} µs of its CPU each`);
    }
    if (r.ws) {
      row('relayed over the server WebSocket (no UDP relay)', r.ws);
      ratio('WebSocket-relayed', r.ws);
    }
  }
  if (want('birthday')) {
    if (process.getuid?.() !== 0) throw new Error('the birthday bench needs root (network namespaces)');
    const runs = Number(process.env.WGP2P_BENCH_BIRTHDAY_RUNS ?? 20);
    section(`birthday punching: hard pairs direct within 20 s, over ${runs} runs each (NAT lab)`);
    const { measureBirthday, median } = await import('./birthday.js');
    for (const f of await measureBirthday(runs)) {
      console.log(`${f.pair.padEnd(34)} direct ${f.direct}/${f.runs}  median time to direct ${f.toDirectMs.length ? `${fmt(median(f.toDirectMs))} ms` : '-'}  (max ${f.toDirectMs.length ? `${fmt(Math.max(...f.toDirectMs))} ms` : '-'})`);
    }
  }
  if (want('idle')) {
    if (process.getuid?.() !== 0) throw new Error('the idle bench needs root (network namespaces)');
    const { measureIdle, IDLE_SECONDS } = await import('./idle.js');
    const seconds = Number(process.env.WGP2P_BENCH_IDLE_SECONDS ?? IDLE_SECONDS);
    section(`idle CPU over ${seconds} s, % of one core per daemon (one peer, keepalive 25 s; join: a room of four)`);
    const r = await measureIdle(seconds);
    const pct = (x: number) => `${x.toFixed(3)} %`;
    console.log(`wireguard-go                 ${pct(r.wireguardGo)}`);
    console.log(`wgp2p up                     ${pct(r.up)}  (target <= 0.1 %)`);
    console.log(`wgp2p join, four members     ${pct(r.join)}  (target <= 0.3 %; each: ${r.joinEach.map(pct).join(', ')})`);
  }
  if (want('signal')) {
    section('signal server');
    // Loaded lazily so the engine figures do not depend on it.
    const { benchSignalServer } = await import('./signal-server.js');
    const s = await benchSignalServer();
    console.log(`concurrent agents held      ${fmt(s.concurrentAgents)}`);
    console.log(`memory per connection       ${fmt(s.bytesPerConnection / 1024)} KiB`);
    console.log(`fan-out latency p50 / p99   ${fmt(s.fanoutP50Ms)} / ${fmt(s.fanoutP99Ms)} ms`);
  }
}

main().catch((e: unknown) => {
  console.error(`bench: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
});
