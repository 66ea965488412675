// `wgp2p ping PEER [--interface IF] [--count N] [--json]`: a disco probe to a room member through
// the running agent, telling whether the answer came over a direct path or a relay, and the RTT.
import { controlRequest, pickInterface } from '../agent/daemon/control-client.js';
import { parseArgs, UsageError } from './args.js';

interface PingResult {
  name: string;
  address: string;
  endpoint: string;
  path: 'direct' | 'relay';
  relay?: string;
  rttMs: number;
}

export async function runPing(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['interface', 'count'], switches: ['json'] });
  const peer = args.positional[0];
  if (!peer || args.positional.length > 1) throw new UsageError('usage: wgp2p ping PEER (name, address or public key) [--interface IF] [--count N] [--json]');
  const countText = args.values.get('count') ?? '1';
  if (!/^\d{1,4}$/.test(countText) || Number(countText) < 1) throw new UsageError('--count must be a whole number from 1 to 9999');
  const ifname = pickInterface(args.values.get('interface'));
  let failures = 0;
  for (let i = 0; i < Number(countText); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 1000));
    try {
      const r = (await controlRequest(ifname, { op: 'ping', peer }, 5000)) as PingResult;
      process.stdout.write(args.switches.has('json') ? JSON.stringify(r) + '\n' : `pong from ${r.name} (${r.address}) via ${r.endpoint}: ${r.path}${r.relay ? ` through ${r.relay}` : ''}, ${r.rttMs} ms\n`);
    } catch (e) {
      failures++;
      process.stderr.write(`wgp2p ping: ${(e as Error).message}\n`);
    }
  }
  return failures === 0 ? 0 : 1;
}
