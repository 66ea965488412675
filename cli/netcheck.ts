// `wgp2p netcheck --server URL [--stun-port P] [--json]`: what this network does to UDP, as seen
// from a signal server (no tunnel needed, no root needed).
import { netcheck, type NetcheckReport } from '../agent/join/nat/netcheck.js';
import { DEFAULT_STUN_PORT } from '../agent/join/nat/stun-server.js';
import { PROTOCOLS, type PortmapProtocol, type ProbeResult } from '../agent/portmap/index.js';
import { normalizeServerUrl } from '../shared/net/server-url.js';
import type { Option } from '../shared/config/options.js';
import { commandArgs } from './command-args.js';
import { asText, integer, parseBool } from '../shared/config/values.js';
import { ConfigError } from '../shared/errors.js';

const USAGE = 'usage: wgp2p netcheck --server URL [--stun-port P] [--json]';

const NETCHECK_OPTIONS = {
  server: { parse: asText, value: 'URL', help: 'the signal server: host, host:port or a ws(s):// or http(s):// URL' },
  stunPort: { parse: integer(1, 65535), default: DEFAULT_STUN_PORT, value: 'P', help: `its STUN port (default ${DEFAULT_STUN_PORT})` },
  json: { parse: parseBool, boolean: true, default: false, help: 'the report as JSON' },
} satisfies Record<string, Option<unknown>>;

const PROTOCOL_NAMES: Record<PortmapProtocol, string> = { pcp: 'PCP', natpmp: 'NAT-PMP', upnp: 'UPnP IGD' };

const MAPPING_WORDS: Record<string, string> = {
  'endpoint-independent': 'endpoint-independent (one public port for every destination: hole punching works)',
  'endpoint-dependent': 'endpoint-dependent ("symmetric": a new public port per destination; punching works only with friendly peers)',
  unknown: 'unknown',
};

export async function runNetcheck(argv: string[]): Promise<number> {
  const args = commandArgs(NETCHECK_OPTIONS, argv, USAGE);
  if (!args) return 0;
  if (!args.values.server) throw new ConfigError('usage', USAGE);
  let server: string;
  try {
    server = normalizeServerUrl(args.values.server);
  } catch (e) {
    throw new ConfigError('bad_value', (e as Error).message, '--server');
  }
  const r = await netcheck(server, args.values.stunPort);
  process.stdout.write(args.values.json ? JSON.stringify(r, null, 2) + '\n' : format(r));
  return r.mapped ? 0 : 1;
}

function portmapText(p: ProbeResult): string {
  if (!p.gateway) return 'no default gateway';
  const spoken = PROTOCOLS.filter((k) => p[k]).map((k) => PROTOCOL_NAMES[k]);
  return `${spoken.length ? spoken.join(', ') : 'none'} (gateway ${p.gateway})`;
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
    `port mapping  ${portmapText(r.portmap)}`,
    `IPv6          ${r.ipv6.hostAddresses.length ? `${r.ipv6.hostAddresses.join(', ')}${r.ipv6.mapped ? `; the server sees ${r.ipv6.mapped}` : ''}` : 'no global IPv6 address'}`,
  ];
  for (const p of r.problems) lines.push(`problem       ${p}`);
  return lines.join('\n') + '\n';
}
