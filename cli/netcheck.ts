// `wgp2p netcheck --server URL [--stun-port P] [--json]`: what this network does to UDP, as seen
// from a signal server (no tunnel needed, no root needed).
import { netcheck, type NetcheckReport } from '../agent/join/nat/netcheck.js';
import { DEFAULT_STUN_PORT, parseServerUrl } from '../agent/join/nat/stun-server.js';
import { parseArgs, UsageError } from './args.js';

const MAPPING_WORDS: Record<string, string> = {
  'endpoint-independent': 'endpoint-independent (one public port for every destination: hole punching works)',
  'endpoint-dependent': 'endpoint-dependent ("symmetric": a new public port per destination; punching works only with friendly peers)',
  unknown: 'unknown',
};

export async function runNetcheck(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['server', 'stun-port'], switches: ['json'] });
  const server = args.values.get('server');
  if (!server || args.positional.length > 0) throw new UsageError('usage: wgp2p netcheck --server URL [--stun-port P] [--json]');
  try {
    parseServerUrl(server);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const portText = args.values.get('stun-port') ?? String(DEFAULT_STUN_PORT);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw new UsageError('--stun-port must be 1..65535');
  const r = await netcheck(server, Number(portText));
  process.stdout.write(args.switches.has('json') ? JSON.stringify(r, null, 2) + '\n' : format(r));
  return r.mapped ? 0 : 1;
}

function format(r: NetcheckReport): string {
  const ms = (v: number | undefined) => (v === undefined ? 'no answer' : `${v} ms`);
  const lines = [
    `server        ${r.server} (STUN ${r.stun || '?'})`,
    `latency       STUN ${ms(r.latency.stunMs)}, WebSocket greeting ${ms(r.latency.websocketMs)}`,
    `UDP mapped    ${r.mapped ?? 'none'}${r.mappedAlt && r.mappedAlt !== r.mapped ? ` (toward the alternate port: ${r.mappedAlt})` : ''}`,
    `mapping       ${MAPPING_WORDS[r.mapping]}`,
    `filtering     ${r.filtering}`,
    `hairpinning   ${r.hairpinning === 'unknown' ? 'unknown' : r.hairpinning ? 'yes' : 'no'}`,
    `IPv6          ${r.ipv6.hostAddresses.length ? `${r.ipv6.hostAddresses.join(', ')}${r.ipv6.mapped ? `; the server sees ${r.ipv6.mapped}` : ''}` : 'no global IPv6 address'}`,
  ];
  for (const p of r.problems) lines.push(`problem       ${p}`);
  return lines.join('\n') + '\n';
}
