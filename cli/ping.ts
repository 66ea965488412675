// `wgp2p ping PEER [--interface IF] [--count N] [--json]`: a disco probe to a room member through
// the running agent, telling whether the answer came over a direct path or a relay, and the RTT.
import { controlRequest, pickInterface } from '../agent/daemon/control-client.js';
import type { Option } from '../shared/config/options.js';
import { commandArgs } from './command-args.js';
import { integer } from '../shared/config/values.js';
import { CONTROL_OPTIONS } from './control-options.js';
import { formatWhyRelayed, type WhyRelayed } from '../agent/join/observe/why-relayed.js';

const USAGE = 'usage: wgp2p ping PEER (name, address or public key) [--interface IF] [--count N] [--json]';

const PING_OPTIONS = {
  ...CONTROL_OPTIONS,
  count: { parse: integer(1, 9999), default: 1, value: 'N', help: 'probes, one a second' },
} satisfies Record<string, Option<unknown>>;

interface PingResult {
  name: string;
  address: string;
  endpoint: string;
  path: 'direct' | 'relay';
  relay?: string;
  rttMs: number;
  /** For a relayed path: why it is not direct. */
  whyRelayed?: WhyRelayed;
}

export async function runPing(argv: string[]): Promise<number> {
  const args = commandArgs(PING_OPTIONS, argv, USAGE, { positional: { min: 1, max: 1 } });
  if (!args) return 0;
  const peer = args.positional[0]!;
  const ifname = pickInterface(args.values.interface);
  let failures = 0;
  for (let i = 0; i < args.values.count; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 1000));
    try {
      const r = (await controlRequest(ifname, { op: 'ping', peer }, 5000)) as PingResult;
      process.stdout.write(args.values.json ? JSON.stringify(r) + '\n' : `pong from ${r.name} (${r.address}) via ${r.endpoint}: ${r.path}${r.relay ? ` through ${r.relay}` : ''}, ${r.rttMs} ms\n${r.whyRelayed && i === 0 ? `  ${formatWhyRelayed(r.whyRelayed)}\n` : ''}`);
    } catch (e) {
      failures++;
      process.stderr.write(`wgp2p ping: ${(e as Error).message}\n`);
    }
  }
  return failures === 0 ? 0 : 1;
}
