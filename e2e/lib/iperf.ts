// iperf3 between two namespaces: a one-off server (-s -1) in one, the client
// with JSON output (-J) in the other; the JSON is checked, not trusted.
import { runCommand, waitFor } from './process.js';
import type { Netns } from './netns.js';

export interface IperfOptions {
  /** Test length in seconds (-t). Default 2. Ignored when `bytes` is set. */
  seconds?: number;
  /** Server sends, client receives (-R). */
  reverse?: boolean;
  /** Transfer exactly this many bytes (-n) instead of running for `seconds`. */
  bytes?: number;
  /** Server port (-p). Default 5201. */
  port?: number;
  /** Extra time allowed beyond the expected test length. Default 20 000 ms. */
  slackMs?: number;
}

export interface IperfResult {
  /** Throughput seen by the receiving side (end.sum_received). */
  bitsPerSecond: number;
  /** Bytes the receiving side got. */
  bytes: number;
  /** Bytes the sending side wrote (end.sum_sent). */
  sentBytes: number;
  /** The whole -J document, for anything else a test wants. */
  json: unknown;
}

/**
 * Runs one TCP iperf3 transfer from `nsClient` to `serverAddr` (an address of
 * `nsServer`). Starts `iperf3 -s -1` in nsServer, waits until it listens, runs
 * the client, and waits for the server to exit.
 */
export async function runIperf(nsClient: Netns, nsServer: Netns, serverAddr: string, opts: IperfOptions = {}): Promise<IperfResult> {
  const port = opts.port ?? 5201;
  const seconds = opts.seconds ?? 2;
  const timeoutMs = (opts.bytes === undefined ? seconds * 1000 : 10_000) + (opts.slackMs ?? 20_000);
  const server = nsServer.spawn('iperf3', ['-s', '-1', '-p', String(port)], { name: `${nsServer.name}.iperf3-server.${port}` });
  try {
    // Poll the socket table instead of the banner: iperf3 buffers its stdout on a pipe.
    await waitFor(async () => {
      if (!server.running) throw new Error(`iperf3 server exited\n${server.tail(10)}`);
      const r = await nsServer.exec('ss', ['-Hltn', `sport = :${port}`]);
      return r.stdout.trim() !== '';
    }, { timeoutMs: 10_000, intervalMs: 50, what: `iperf3 server listening on port ${port} in ${nsServer.name}` });

    const args = ['-c', serverAddr, '-p', String(port), '-J'];
    if (opts.bytes !== undefined) args.push('-n', String(opts.bytes));
    else args.push('-t', String(seconds));
    if (opts.reverse) args.push('-R');
    const client = await nsClient.exec('iperf3', args, { timeoutMs, allowFail: true });
    const parsed = parseIperfJson(client.stdout);
    if (client.code !== 0 || parsed.error) {
      throw new Error(`iperf3 client ${nsClient.name} -> ${serverAddr}:${port} failed (exit ${client.code}): ${parsed.error ?? client.stderr.trim()}\n${server.tail(10)}`);
    }
    await server.waitForExit(10_000);
    return { bitsPerSecond: parsed.bitsPerSecond, bytes: parsed.bytes, sentBytes: parsed.sentBytes, json: parsed.json };
  } finally {
    await server.kill('SIGTERM', 1_000);
  }
}

interface ParsedIperf {
  error: string | undefined;
  bitsPerSecond: number;
  bytes: number;
  sentBytes: number;
  json: unknown;
}

/** Reads the totals out of `iperf3 -J` output; reports iperf3's own error field. */
export function parseIperfJson(text: string): ParsedIperf {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: `output is not JSON: ${text.slice(0, 200)}`, bitsPerSecond: 0, bytes: 0, sentBytes: 0, json: undefined };
  }
  const error = field(json, 'error');
  if (typeof error === 'string') return { error, bitsPerSecond: 0, bytes: 0, sentBytes: 0, json };
  const end = field(json, 'end');
  const received = field(end, 'sum_received');
  const sent = field(end, 'sum_sent');
  const bytes = field(received, 'bytes');
  const bps = field(received, 'bits_per_second');
  const sentBytes = field(sent, 'bytes');
  if (typeof bytes !== 'number' || typeof bps !== 'number' || typeof sentBytes !== 'number') {
    return { error: 'JSON lacks end.sum_received / end.sum_sent totals', bitsPerSecond: 0, bytes: 0, sentBytes: 0, json };
  }
  return { error: undefined, bitsPerSecond: bps, bytes, sentBytes, json };
}

function field(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>)[key] : undefined;
}
