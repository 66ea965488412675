// A checksummed TCP transfer between two namespaces (e2e/tools/tcp-transfer.mjs on both ends).
import { join } from 'node:path';
import type { Netns } from './netns.js';
import { waitFor } from './process.js';
import { projectRoot } from './wgp2p-tunnel.js';

export interface TransferResult {
  bytes: number;
  sentSha256: string;
  receivedBytes: number;
  receivedSha256: string;
  seconds: number;
  /** Wall clock (Date.now()) when the sender was started. */
  startedAt: number;
}

export interface TransferOptions {
  bytes: number;
  port?: number;
  /** Pace the sender to this many bytes per second (0: as fast as possible). */
  rate?: number;
  timeoutMs?: number;
  /** The receiver listens at once; the sender starts once this settles (e.g. a log line). */
  startAfter?: Promise<unknown>;
}

/** Sends `bytes` from `from` to `toAddr` (an address of `to`); resolves once the receiver hashed it all. */
export async function tcpTransfer(from: Netns, to: Netns, toAddr: string, o: TransferOptions): Promise<TransferResult> {
  const tool = join(projectRoot(), 'e2e/tools/tcp-transfer.mjs');
  const port = o.port ?? 7000;
  const server = to.spawn('node', [tool, 'serve', String(port)], { name: `${to.name}.tcp-sink.${port}` });
  try {
    await server.waitForOutput(/listening/, 10_000);
    const timeoutMs = o.timeoutMs ?? 120_000;
    await o.startAfter;
    const startedAt = Date.now();
    const r = await from.exec('node', [tool, 'send', toAddr, String(port), String(o.bytes), String(o.rate ?? 0)], { timeoutMs });
    const out = JSON.parse(r.stdout.trim()) as { sent: { bytes: number; sha256: string; seconds: number }; received: { bytes: number; sha256: string } | null };
    if (!out.received) throw new Error(`receiver did not report (sender: ${r.stdout} ${r.stderr})`);
    await waitFor(() => !server.running, { timeoutMs: 5_000, what: 'tcp sink exit' });
    return {
      bytes: out.sent.bytes,
      sentSha256: out.sent.sha256,
      receivedBytes: out.received.bytes,
      receivedSha256: out.received.sha256,
      seconds: out.sent.seconds,
      startedAt,
    };
  } finally {
    await server.kill('SIGTERM', 1_000);
  }
}
