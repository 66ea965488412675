// Waiting for a pair of join agents to agree on a path (e2e helpers for the relay tests).
import type { JoinAgent, JoinPeerStatus } from './join-agent.js';
import { waitFor } from './process.js';

export async function peerStatus(a: JoinAgent, name: string): Promise<JoinPeerStatus | undefined> {
  return (await a.status()).peers.find((p) => p.name === name);
}

/** Waits until both agents' status for each other satisfies `ok`; returns those statuses. */
export async function waitPath(a: JoinAgent, b: JoinAgent, what: string, ok: (s: JoinPeerStatus) => boolean, timeoutMs: number): Promise<[JoinPeerStatus, JoinPeerStatus]> {
  let last: [JoinPeerStatus | undefined, JoinPeerStatus | undefined] = [undefined, undefined];
  try {
    await waitFor(
      async () => {
        last = [await peerStatus(a, b.name), await peerStatus(b, a.name)];
        return last.every((s) => s !== undefined && s.lastHandshake !== undefined && ok(s));
      },
      { timeoutMs, intervalMs: 200, what },
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(last)}`);
  }
  return last as [JoinPeerStatus, JoinPeerStatus];
}
