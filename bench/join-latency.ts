// Issue 4's latency figure: time from the second `wgp2p join` to the first ping answered over the
// direct path, on the NAT lab (both members behind port-restricted NATs, the server public).
// Also split out of the agent's own log: the part spent starting Node and the tunnel, and the
// part from "joining" (tunnel up, STUN done) to "direct path up".
import { NatLab } from '../e2e/lib/nat-lab.js';
import { startSignalServer } from '../e2e/lib/join-agent.js';
import { linkPair, stopPair } from '../e2e/lib/join-pair.js';

export interface JoinLatency {
  runs: number;
  /** ms from spawning the second agent to the first answered ping, per run. */
  firstPingMs: number[];
  /** ms from the second agent's "joining" log line to its "direct path up", per run. */
  joinToPathMs: number[];
  failures: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function logTime(stderr: string, msg: string): number | undefined {
  const line = stderr.split('\n').find((l) => l.includes(`"msg":"${msg}"`));
  const m = line && /"time":"([^"]+)"/.exec(line);
  return m ? Date.parse(m[1]!) : undefined;
}

export async function measureJoinLatency(runs = 10): Promise<JoinLatency> {
  const lab = await NatLab.create(undefined, { prefix: 'jb' });
  const out: JoinLatency = { runs, firstPingMs: [], joinToPathMs: [], failures: 0 };
  try {
    const srv = await lab.publicHost('srv', '203.0.113.10');
    const server = await startSignalServer(srv, '203.0.113.10');
    const [a, b] = [await lab.site('a', 'port-restricted'), await lab.site('b', 'port-restricted')];
    for (let i = 0; i < runs; i++) {
      const r = await linkPair(
        { ns: a.hosts[0]!, name: 'a' },
        { ns: b.hosts[0]!, name: 'b' },
        { room: `bench-${i}`, server: server.url, secret: 'jb-bench-secret-0123456789abcdef', tag: `jb${i}`, timeoutMs: 10_000 },
      );
      if (r.firstPingMs === undefined) out.failures++;
      else out.firstPingMs.push(r.firstPingMs);
      const log = r.agents[1].process.stderr;
      const [joining, up] = [logTime(log, 'joining'), logTime(log, 'direct path up')];
      if (joining !== undefined && up !== undefined) out.joinToPathMs.push(up - joining);
      await stopPair(r);
    }
    await server.stop();
  } finally {
    await lab.destroy();
  }
  return out;
}
