// `npm run bench`: prints every performance figure of the project, with wireguard-go measured in
// the same run as the yardstick. Needs root (namespaces) and the e2e tools (see README).
import { cryptoChoice } from './crypto-choice.js';
import { handshakesPerSecond, transportPacketsPerSecond } from './engine-cpu.js';
import { measureThroughput } from './tunnel-throughput.js';

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
const section = (s: string) => console.log(`\n== ${s}`);

async function main(): Promise<void> {
  const only = new Set(process.argv.slice(2));
  const want = (s: string) => only.size === 0 || only.has(s);

  if (want('crypto')) {
    section('crypto per job on one core (node:crypto vs @noble)');
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
    section('TCP throughput through the tunnel (iperf3, 5 s, two namespaces on a veth)');
    const ours = await measureThroughput('wgp2p', 5);
    const ref = await measureThroughput('wireguard-go', 5);
    // CPU time of both daemons per 1420-byte-ish packet moved: steadier than Mbit/s on a busy 2-core box.
    const usPerPacket = (cpu: number, bytes: number) => (cpu * 1e6) / (bytes / 1368);
    for (const r of [ours, ref]) {
      console.log(
        `${r.engine.padEnd(14)} ${fmt(r.mbitPerSecond)} Mbit/s  (reverse ${fmt(r.reverseMbitPerSecond)} Mbit/s)` +
          `  daemons' CPU ${usPerPacket(r.cpuSeconds, r.bytes).toFixed(1)} / ${usPerPacket(r.reverseCpuSeconds, r.reverseBytes).toFixed(1)} µs per packet`,
      );
    }
    console.log(`ratio wgp2p / wireguard-go: ${(ours.mbitPerSecond / ref.mbitPerSecond).toFixed(2)} (reverse ${(ours.reverseMbitPerSecond / ref.reverseMbitPerSecond).toFixed(2)})`);
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
    section('relay: TCP throughput direct vs through a bounce peer (NAT lab, iperf3 5 s)');
    const { measureRelayThroughput } = await import('./relay-throughput.js');
    const withWs = process.env.WGP2P_BENCH_WS_RELAY === '1';
    const r = await measureRelayThroughput(5, { ws: withWs });
    const row = (label: string, x: { mbitPerSecond: number; reverseMbitPerSecond: number }) =>
      console.log(`${label.padEnd(52)} ${fmt(x.mbitPerSecond)} Mbit/s  (reverse ${fmt(x.reverseMbitPerSecond)} Mbit/s)`);
    row('direct (port-restricted <-> port-restricted)', r.direct);
    row('relayed through a bounce (symmetric <-> symmetric)', r.relayed);
    console.log(`ratio relayed / direct: ${(r.relayed.mbitPerSecond / r.direct.mbitPerSecond).toFixed(2)} (reverse ${(r.relayed.reverseMbitPerSecond / r.direct.reverseMbitPerSecond).toFixed(2)})`);
    const usPerRelayed = (r.bounceCpuSecondsDuringIperf * 1e6) / r.bounceRelayedPacketsDuringIperf;
    console.log(
      `bounce_relayed_packets ${r.bounceRelayedPackets.toLocaleString('en-US')} (${r.bounceRelayedPacketsDuringIperf.toLocaleString('en-US')} during the two iperf3 runs;` +
        ` bounce CPU ${usPerRelayed.toFixed(1)} µs per relayed packet)`,
    );
    if (r.ws) {
      row('relayed over the server WebSocket (no UDP relay)', r.ws);
      console.log(`ratio WebSocket-relayed / direct: ${(r.ws.mbitPerSecond / r.direct.mbitPerSecond).toFixed(2)} (reverse ${(r.ws.reverseMbitPerSecond / r.direct.reverseMbitPerSecond).toFixed(2)})`);
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
