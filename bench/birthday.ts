// Issue 13's figure: for each hard pair (symmetric × port-restricted, carrier-grade ×
// port-restricted) over N runs in the NAT lab, how often birthday punching makes it direct within
// its 20 s window, and the median time from "relayed path up" to "birthday punching found a
// direct path" (both from the hard side's own log).
import { NatLab, type SiteKind } from '../e2e/lib/nat-lab.js';
import { startJoinAgent, startSignalServer } from '../e2e/lib/join-agent.js';
import { median } from './join-latency.js';

export interface BirthdayFigures {
  pair: string;
  runs: number;
  direct: number;
  /** ms from relaying to direct, per successful run. */
  toDirectMs: number[];
}

const SECRET = 'bb-bench-secret-0123456789abcdef';
/** The attempt's window plus the time to open sockets and start. */
const WAIT_MS = 25_000;
export { median };

function logTime(stderr: string, msg: string): number | undefined {
  const line = stderr.split('\n').find((l) => l.includes(`"msg":"${msg}"`));
  const m = line && /"time":"([^"]+)"/.exec(line);
  return m ? Date.parse(m[1]!) : undefined;
}

export async function measureBirthday(runs = 20): Promise<BirthdayFigures[]> {
  const lab = await NatLab.create(undefined, { prefix: 'bb' });
  const out: BirthdayFigures[] = [];
  try {
    const srv = await lab.publicHost('srv', '203.0.113.10');
    const server = await startSignalServer(srv, '203.0.113.10', 'server', ['--relay']);
    const easy = await lab.site('pr', 'port-restricted');
    const hards: [string, SiteKind][] = [['symmetric', 'symmetric'], ['cgnat', 'cgnat']];
    for (const [label, kind] of hards) {
      const hard = await lab.site(label.slice(0, 2), kind);
      const f: BirthdayFigures = { pair: `${label} × port-restricted`, runs, direct: 0, toDirectMs: [] };
      for (let i = 0; i < runs; i++) {
        const base = { room: `bb-${label}-${i}`, server: server.url, secret: SECRET };
        const a = await startJoinAgent(hard.hosts[0]!, { ...base, name: 'hard', ifname: `bb${i}a` });
        const b = await startJoinAgent(easy.hosts[0]!, { ...base, name: 'easy', ifname: `bb${i}b` });
        try {
          await a.process.waitForOutput(/"msg":"birthday punching found a direct path"/, WAIT_MS).catch(() => undefined);
          const [relayed, direct] = [logTime(a.process.stderr, 'relayed path up'), logTime(a.process.stderr, 'birthday punching found a direct path')];
          if (relayed !== undefined && direct !== undefined && direct - relayed <= 20_000) {
            f.direct++;
            f.toDirectMs.push(direct - relayed);
          }
        } finally {
          await Promise.all([a.stop(), b.stop()]);
        }
      }
      out.push(f);
    }
    await server.stop();
  } finally {
    await lab.destroy();
  }
  return out;
}
