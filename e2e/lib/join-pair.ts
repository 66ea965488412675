// One pair of join agents on two NAT lab hosts, measured the way issue 4 asks: the time from
// the second join to the first ping answered through the tunnel, then pings both ways and what
// both agents' status says about the path.
import type { Netns } from './netns.js';
import { firstPing, pingCount, startJoinAgent, type JoinAgent, type JoinPeerStatus } from './join-agent.js';

export interface PairEnd {
  ns: Netns;
  name: string;
}

export interface PairResult {
  /** ms from spawning the second agent to the first answered ping; undefined if none. */
  firstPingMs: number | undefined;
  /** Answers out of 5 each way, after the first one (0 when there was none). */
  aToB: number;
  bToA: number;
  statusA: JoinPeerStatus | undefined;
  statusB: JoinPeerStatus | undefined;
  agents: [JoinAgent, JoinAgent];
  error?: string;
}

export interface PairOptions {
  room: string;
  server: string;
  secret: string;
  /** Interface names: `${tag}a`, `${tag}b` (unique machine-wide: the control sockets are shared). */
  tag: string;
  /** How long to wait for the first ping. */
  timeoutMs: number;
}

/** Starts a (first) then b, pings b → a until it answers, then both ways; leaves both running. */
export async function linkPair(a: PairEnd, b: PairEnd, o: PairOptions): Promise<PairResult> {
  const base = { room: o.room, server: o.server, secret: o.secret };
  const agentA = await startJoinAgent(a.ns, { ...base, name: a.name, ifname: `${o.tag}a` });
  const addressA = (await agentA.status()).self.address!;
  // The clock starts when b is spawned; ping from b's namespace while it starts.
  const pinging = firstPing(b.ns, addressA, o.timeoutMs).then(
    (at) => ({ at }),
    (e: Error) => ({ error: e.message }),
  );
  const agentB = await startJoinAgent(b.ns, { ...base, name: b.name, ifname: `${o.tag}b` });
  const addressB = (await agentB.status()).self.address!;
  const result: PairResult = { firstPingMs: undefined, aToB: 0, bToA: 0, statusA: undefined, statusB: undefined, agents: [agentA, agentB] };
  const first = await pinging;
  if ('at' in first) result.firstPingMs = first.at - agentB.startedAt;
  else result.error = first.error;
  if (result.firstPingMs !== undefined) [result.aToB, result.bToA] = await Promise.all([pingCount(a.ns, addressB, 5), pingCount(b.ns, addressA, 5)]);
  result.statusA = (await agentA.status()).peers.find((p) => p.name === b.name);
  result.statusB = (await agentB.status()).peers.find((p) => p.name === a.name);
  return result;
}

export async function stopPair(r: PairResult): Promise<void> {
  await Promise.all(r.agents.map((x) => x.stop()));
}
