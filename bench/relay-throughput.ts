// Relayed throughput and its ratio to direct throughput, measured in one run on one NAT lab:
// iperf3 (TCP) between two join agents that punched a direct path (port-restricted ↔
// port-restricted), then between two that cannot punch (symmetric ↔ symmetric) and meet through a
// bounce peer on a public host, and optionally between two symmetric agents with no UDP relay at
// all, which fall back to the server's WebSocket relay. Each pair has a room of its own, so the
// direct pair never sees the bounce and the WebSocket pair neither.
import { readFile } from 'node:fs/promises';
import { NatLab } from '../e2e/lib/nat-lab.js';
import { runIperf } from '../e2e/lib/iperf.js';
import { startJoinAgent, startSignalServer, type JoinAgent, type JoinPeerStatus } from '../e2e/lib/join-agent.js';
import { waitFor } from '../e2e/lib/process.js';
import type { Netns } from '../e2e/lib/netns.js';

// Namespaces are `brl-*`; interface names start with `brl` too: they name the agents' control
// sockets, which are machine-wide, so they must not clash with the e2e tests' (jm*, rb*, ...).
const PREFIX = 'brl';
const SECRET = 'brl-bench-secret-0123456789abcdef';

export interface PairThroughput {
  /** a → b and b → a (iperf3 -R), as the receiving side measured. */
  mbitPerSecond: number;
  reverseMbitPerSecond: number;
  /** What a's status said about b when the path was settled. */
  path: JoinPeerStatus;
}

export interface RelayThroughput {
  seconds: number;
  direct: PairThroughput;
  relayed: PairThroughput;
  /** The bounce's `bounce_relayed_packets` counter: in total, and during the two iperf3 runs. */
  bounceRelayedPackets: number;
  bounceRelayedPacketsDuringIperf: number;
  /** CPU seconds (user + system) the bounce's process used during the two iperf3 runs. */
  bounceCpuSecondsDuringIperf: number;
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
  const a = await startJoinAgent(hostA, { ...base, name: o.names[0], ifname: `${PREFIX}${o.tag}a` });
  const b = await startJoinAgent(hostB, { ...base, name: o.names[1], ifname: `${PREFIX}${o.tag}b` });
  return [a, b];
}

export async function measureRelayThroughput(seconds = 5, opts: { ws?: boolean } = {}): Promise<RelayThroughput> {
  // A lab of our own (not persistent): its namespaces, and with them the agents (onDelete), go on
  // destroy() and also if this process exits or is signalled half-way.
  const lab = await NatLab.create(undefined, { prefix: PREFIX, persistent: false });
  let ok = false;
  try {
    const srv = await lab.publicHost('srv', '203.0.113.10');
    const server = await startSignalServer(srv, '203.0.113.10');
    const bounceHost = await lab.publicHost('bnc', '203.0.113.20');
    const [pr1, pr2] = [await lab.site('pr1', 'port-restricted'), await lab.site('pr2', 'port-restricted')];
    const [sy1, sy2] = [await lab.site('sy1', 'symmetric'), await lab.site('sy2', 'symmetric')];

    // (1) direct: port-restricted ↔ port-restricted punch a direct path.
    const [da, db] = await pair(pr1.hosts[0]!, pr2.hosts[0]!, { room: 'bench-direct', server: server.url, tag: 'd', names: ['pr1-a', 'pr2-b'] });
    const directPath = await waitPath(da, db, 'direct', undefined, 15_000);
    const direct = await iperfBothWays(da, db, seconds);
    await Promise.all([da.stop(), db.stop()]);

    // (2) relayed: symmetric ↔ symmetric cannot punch; they meet through the bounce.
    const bounce = await startJoinAgent(bounceHost, { room: 'bench-relay', server: server.url, secret: SECRET, name: 'bounce', ifname: `${PREFIX}rz`, args: ['--bounce'] });
    const [ra, rb] = await pair(sy1.hosts[0]!, sy2.hosts[0]!, { room: 'bench-relay', server: server.url, tag: 'r', names: ['sy1-a', 'sy2-b'] });
    const relayPath = await waitPath(ra, rb, 'relay', 'bounce', 20_000);
    const relayedBefore = (await bounce.status()).counters.bounce_relayed_packets ?? 0;
    const cpuBefore = await cpuSeconds(bounce.process.pid);
    const relayed = await iperfBothWays(ra, rb, seconds);
    const cpuAfter = await cpuSeconds(bounce.process.pid);
    const relayedAfter = (await bounce.status()).counters.bounce_relayed_packets ?? 0;
    await Promise.all([ra.stop(), rb.stop(), bounce.stop()]);

    const out: RelayThroughput = {
      seconds,
      direct: { mbitPerSecond: direct.fwd, reverseMbitPerSecond: direct.rev, path: directPath },
      relayed: { mbitPerSecond: relayed.fwd, reverseMbitPerSecond: relayed.rev, path: relayPath },
      bounceRelayedPackets: relayedAfter,
      bounceRelayedPacketsDuringIperf: relayedAfter - relayedBefore,
      bounceCpuSecondsDuringIperf: cpuAfter - cpuBefore,
    };

    // (3) the same kind of pair in a room without a bounce, the server started without --relay:
    // no UDP relay answers, so both fall back to the relay over their signalling WebSocket.
    if (opts.ws) {
      const [wa, wb] = await pair(sy1.hosts[0]!, sy2.hosts[0]!, { room: 'bench-ws', server: server.url, tag: 'w', names: ['sy1-w', 'sy2-w'] });
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
