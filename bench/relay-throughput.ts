// Relayed throughput and its ratio to direct throughput, measured in one run on one NAT lab, on
// one pair: iperf3 (TCP) between two join agents that punched a direct path (port-restricted ↔
// port-restricted), then between the same two agents once an nft rule in each host drops UDP to
// the other's public address, which leaves them the signal server's UDP relay (`--relay`).
// Optionally (WGP2P_BENCH_BOUNCE_RELAY=1) a symmetric ↔ symmetric pair through a bounce peer, and
// (WGP2P_BENCH_WS_RELAY=1) one with no UDP relay at all, through the server's WebSocket relay.
// Each optional pair has a room of its own, so it never sees the others' relays.
import { readFile } from 'node:fs/promises';
import { NatLab } from '../e2e/lib/nat-lab.js';
import { runIperf } from '../e2e/lib/iperf.js';
import { startJoinAgent, startSignalServer, type JoinAgent, type JoinPeerStatus } from '../e2e/lib/join-agent.js';
import { waitFor } from '../e2e/lib/process.js';
import type { Netns } from '../e2e/lib/netns.js';

// Namespaces are `brl-*`; interface names start with `brl` too: they name the agents' control
// sockets, which are machine-wide, so they must not clash with the e2e tests' (jm*, rb*, ...).
const PREFIX = 'brl';
// `wgp2p server --relay`'s default --relay-port.
const SERVER_RELAY_PORT = 3480;
const SECRET = 'brl-bench-secret-0123456789abcdef';
// The server's per-member relay budget is a policy (default 200 Mbit/s), not a cost: the bench
// raises it (and the per-address one) far above what the lab carries, so that it measures what
// relaying costs. The drops the server counts by reason are printed, so a cap that bit shows.
// WGP2P_BENCH_RELAY_DEFAULT_BUDGET=1 keeps the defaults.
const SERVER_RELAY_ARGS =
  process.env.WGP2P_BENCH_RELAY_DEFAULT_BUDGET === '1' ? ['--relay'] : ['--relay', '--relay-bytes-per-second', '1000000000', '--address-relay-bytes-per-second', '2000000000'];
// WGP2P_BENCH_CPU_PROF=DIR: the agents and the server write V8 CPU profiles there when they stop.
const profileDir = process.env.WGP2P_BENCH_CPU_PROF;
const NODE_ARGS = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
const METRICS_URL = 'http://203.0.113.10:8080/metrics';

export interface PairThroughput {
  /** a → b and b → a (iperf3 -R), as the receiving side measured. */
  mbitPerSecond: number;
  reverseMbitPerSecond: number;
  /** What a's status said about b when the path was settled. */
  path: JoinPeerStatus;
}

/** CPU seconds (user + system) each process used during a pair's two iperf3 runs. */
export interface PhaseCpu {
  a: number;
  b: number;
  /** The relaying process (server or bounce); 0 for the direct phase. */
  relay: number;
  /** UDP datagrams dropped for full receive buffers in the pair's and the relay's namespaces. */
  udpDrops: number;
  /** GSO sends and GRO receives of the two agents' sockets (is the relayed path batched too?). */
  gsoSends: number;
  groReceives: number;
  /** What the server's relay did not forward, by reason (server phase only). */
  relayDropped?: Record<string, number>;
}

export interface RelayThroughput {
  seconds: number;
  direct: PairThroughput & { cpu: PhaseCpu };
  /** The same pair through the server's UDP relay. */
  server: PairThroughput & { cpu: PhaseCpu };
  /** Through a bounce peer (only when asked for), with its `bounce_relayed_packets` during the runs. */
  bounce?: PairThroughput & { cpu: PhaseCpu; relayedPackets: number };
  /** Through the server's WebSocket relay (only when asked for). */
  ws?: PairThroughput;
}

async function peerStatus(a: JoinAgent, name: string): Promise<JoinPeerStatus | undefined> {
  return (await a.status()).peers.find((p) => p.name === name);
}

/** Waits until both agents see each other with a handshake on `path` (through `relay` if given). */
async function waitPath(a: JoinAgent, b: JoinAgent, path: 'direct' | 'relay', relay: string | undefined, timeoutMs: number): Promise<JoinPeerStatus> {
  let last: (JoinPeerStatus | undefined)[] = [];
  const what = relay ? `${path} path through ${relay}` : `${path} path`;
  try {
    await waitFor(
      async () => {
        last = [await peerStatus(a, b.name), await peerStatus(b, a.name)];
        return last.every((s) => s?.path === path && (relay === undefined || s.relay === relay) && s.lastHandshake !== undefined);
      },
      { timeoutMs, intervalMs: 200, what: `${what} between ${a.name} and ${b.name}` },
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(last)}`);
  }
  return last[0]!;
}

/** iperf3 a → b, then b → a (-R), through the tunnel; a's agent started first. */
async function iperfBothWays(a: JoinAgent, b: JoinAgent, seconds: number): Promise<{ fwd: number; rev: number }> {
  const addrB = (await b.status()).self.address!;
  const fwd = await runIperf(a.ns, b.ns, addrB, { seconds });
  const rev = await runIperf(a.ns, b.ns, addrB, { seconds, reverse: true });
  return { fwd: fwd.bitsPerSecond / 1e6, rev: rev.bitsPerSecond / 1e6 };
}

async function pair(hostA: Netns, hostB: Netns, o: { room: string; server: string; tag: string; names: [string, string] }): Promise<[JoinAgent, JoinAgent]> {
  const base = { room: o.room, server: o.server, secret: SECRET };
  const a = await startJoinAgent(hostA, { ...base, name: o.names[0], ifname: `${PREFIX}${o.tag}a`, nodeArgs: NODE_ARGS });
  const b = await startJoinAgent(hostB, { ...base, name: o.names[1], ifname: `${PREFIX}${o.tag}b`, nodeArgs: NODE_ARGS });
  return [a, b];
}

/** Drops what `host` sends that matches the nft expression `match` (e.g. UDP to another site). */
async function dropOutgoing(host: Netns, match: string): Promise<void> {
  await host.exec('nft', ['-f', '-'], { input: `table ip ${PREFIX}block {\n chain out {\n type filter hook output priority 0;\n ${match} drop\n }\n}\n` });
}

/** iperf3 both ways, with the CPU the two agents and the relaying process used meanwhile. */
async function measured(a: JoinAgent, b: JoinAgent, relay: { pid: number | undefined; ns: Netns; server?: boolean } | undefined, seconds: number): Promise<{ fwd: number; rev: number; cpu: PhaseCpu }> {
  const pids = [a.process.pid, b.process.pid, relay?.pid];
  const nss = [a.ns, b.ns, ...(relay ? [relay.ns] : [])];
  const relayDrops = () => (relay?.server ? serverRelayDrops(relay.ns) : Promise.resolve(undefined));
  const before = await Promise.all(pids.map(cpuSeconds));
  const dropsBefore = await Promise.all(nss.map(udpReceiveDrops));
  const relayDropsBefore = await relayDrops();
  const offloadsBefore = await offloadCounts(a, b);
  const r = await iperfBothWays(a, b, seconds);
  const after = await Promise.all(pids.map(cpuSeconds));
  const dropsAfter = await Promise.all(nss.map(udpReceiveDrops));
  const relayDropsAfter = await relayDrops();
  const offloadsAfter = await offloadCounts(a, b);
  const d = after.map((x, i) => (pids[i] === undefined ? 0 : x - before[i]!));
  const drops = dropsAfter.map((x, i) => x - dropsBefore[i]!);
  const cpu: PhaseCpu = { a: d[0]!, b: d[1]!, relay: d[2]!, udpDrops: drops.reduce((x, y) => x + y, 0), gsoSends: offloadsAfter.gso - offloadsBefore.gso, groReceives: offloadsAfter.gro - offloadsBefore.gro };
  if (relayDropsAfter) {
    cpu.relayDropped = {};
    for (const [k, v] of Object.entries(relayDropsAfter)) if (v !== relayDropsBefore?.[k]) cpu.relayDropped[k] = v - (relayDropsBefore?.[k] ?? 0);
  }
  return { ...r, cpu };
}

async function offloadCounts(a: JoinAgent, b: JoinAgent): Promise<{ gso: number; gro: number }> {
  const c = await Promise.all([a, b].map(async (x) => (await x.status()).counters));
  const sum = (k: string) => c.reduce((n, x) => n + (x[k] ?? 0), 0);
  return { gso: sum('offload_udp_gso_sends'), gro: sum('offload_udp_gro_receives') };
}

// The server's wgp2p_relay_dropped_total by reason, fetched from inside its namespace.
async function serverRelayDrops(ns: Netns): Promise<Record<string, number>> {
  const text = (await ns.exec('curl', ['-sf', '--max-time', '5', METRICS_URL])).stdout;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^wgp2p_relay_dropped_total\{reason="([^"]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

// UDP datagrams the namespace's kernel dropped on receive (full socket buffers): /proc/net/snmp's
// Udp RcvbufErrors, read inside the namespace.
async function udpReceiveDrops(ns: Netns): Promise<number> {
  const lines = (await ns.exec('cat', ['/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Udp: '));
  const [names, values] = lines.map((l) => l.split(' ').slice(1));
  const i = names?.indexOf('RcvbufErrors') ?? -1;
  return i < 0 ? NaN : Number(values?.[i]);
}

export async function measureRelayThroughput(seconds = 5, opts: { ws?: boolean; bounce?: boolean } = {}): Promise<RelayThroughput> {
  // A lab of our own (not persistent): its namespaces, and with them the agents (onDelete), go on
  // destroy() and also if this process exits or is signalled half-way.
  const lab = await NatLab.create(undefined, { prefix: PREFIX, persistent: false });
  let ok = false;
  try {
    const srv = await lab.publicHost('srv', '203.0.113.10');
    const server = await startSignalServer(srv, '203.0.113.10', 'server', SERVER_RELAY_ARGS, NODE_ARGS);
    const [pr1, pr2] = [await lab.site('pr1', 'port-restricted'), await lab.site('pr2', 'port-restricted')];

    // (1) direct: port-restricted ↔ port-restricted punch a direct path.
    const [da, db] = await pair(pr1.hosts[0]!, pr2.hosts[0]!, { room: 'bench-relay', server: server.url, tag: 'd', names: ['pr1-a', 'pr2-b'] });
    const directPath = await waitPath(da, db, 'direct', undefined, 15_000);
    const direct = await measured(da, db, undefined, seconds);

    // (2) the same agents with direct UDP between the sites dropped: the path is declared lost
    // and they move onto the server's UDP relay (no bounce in this room, UDP to the server open).
    await dropOutgoing(pr1.hosts[0]!, `ip daddr ${pr2.wanAddress} meta l4proto udp`);
    await dropOutgoing(pr2.hosts[0]!, `ip daddr ${pr1.wanAddress} meta l4proto udp`);
    const serverPath = await waitPath(da, db, 'relay', 'server', 30_000);
    const viaServer = await measured(da, db, { pid: server.process.pid, ns: srv, server: true }, seconds);
    await Promise.all([da.stop(), db.stop()]);

    const out: RelayThroughput = {
      seconds,
      direct: { mbitPerSecond: direct.fwd, reverseMbitPerSecond: direct.rev, path: directPath, cpu: direct.cpu },
      server: { mbitPerSecond: viaServer.fwd, reverseMbitPerSecond: viaServer.rev, path: serverPath, cpu: viaServer.cpu },
    };

    const needSymmetric = opts.bounce || opts.ws;
    const [sy1, sy2] = needSymmetric ? [await lab.site('sy1', 'symmetric'), await lab.site('sy2', 'symmetric')] : [];
    // Neither symmetric host reaches the server's UDP relay, so the bounce is the only UDP relay.
    for (const s of [sy1, sy2]) if (s) await dropOutgoing(s.hosts[0]!, `ip daddr 203.0.113.10 udp dport ${SERVER_RELAY_PORT}`);
    // (3) symmetric ↔ symmetric cannot punch; they meet through a bounce.
    if (opts.bounce) {
      const bounceHost = await lab.publicHost('bnc', '203.0.113.20');
      const bounce = await startJoinAgent(bounceHost, { room: 'bench-bounce', server: server.url, secret: SECRET, name: 'bounce', ifname: `${PREFIX}rz`, args: ['--bounce'] });
      const [ra, rb] = await pair(sy1!.hosts[0]!, sy2!.hosts[0]!, { room: 'bench-bounce', server: server.url, tag: 'r', names: ['sy1-a', 'sy2-b'] });
      const relayPath = await waitPath(ra, rb, 'relay', 'bounce', 20_000);
      const relayedBefore = (await bounce.status()).counters.bounce_relayed_packets ?? 0;
      const r = await measured(ra, rb, { pid: bounce.process.pid, ns: bounceHost }, seconds);
      const relayedAfter = (await bounce.status()).counters.bounce_relayed_packets ?? 0;
      await Promise.all([ra.stop(), rb.stop(), bounce.stop()]);
      out.bounce = { mbitPerSecond: r.fwd, reverseMbitPerSecond: r.rev, path: relayPath, cpu: r.cpu, relayedPackets: relayedAfter - relayedBefore };
    }
    // (4) the same kind of pair in a room without a bounce: no UDP relay answers, so both fall
    // back to the relay over their signalling WebSocket.
    if (opts.ws) {
      const [wa, wb] = await pair(sy1!.hosts[0]!, sy2!.hosts[0]!, { room: 'bench-ws', server: server.url, tag: 'w', names: ['sy1-w', 'sy2-w'] });
      const wsPath = await waitPath(wa, wb, 'relay', 'ws', 20_000);
      const ws = await iperfBothWays(wa, wb, seconds);
      await Promise.all([wa.stop(), wb.stop()]);
      out.ws = { mbitPerSecond: ws.fwd, reverseMbitPerSecond: ws.rev, path: wsPath };
    }
    await server.stop();
    ok = true;
    return out;
  } finally {
    // Keeps the logs (the path given in the error) when something failed.
    if (!ok) console.error(`relay bench failed; logs in ${lab.lab?.logDir}`);
    try {
      await lab.lab!.destroy({ passing: ok });
    } catch (e) {
      if (ok) throw e;
      console.error(`relay bench cleanup: ${(e as Error).message}`); // the first failure is the one thrown
    }
  }
}

// utime + stime from /proc/PID/stat, in seconds (USER_HZ is 100). The agent runs under
// `ip netns exec`, which execs it, so the spawned pid is the agent itself.
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
