// `wgp2p status [--interface IF] [--json]`: what the running daemon knows about itself and its peers.
import { controlRequest, pickInterface } from '../agent/daemon/control-client.js';
import type { DeviceStatus } from '../agent/daemon/status.js';
import { commandArgs } from './command-args.js';
import { CONTROL_OPTIONS } from './control-options.js';
import { formatWhyRelayed } from '../agent/join/observe/why-relayed.js';

const USAGE = 'usage: wgp2p status [PEER (name, DNS name, address or public key)] [--interface IF] [--json]';

export async function runStatus(argv: string[]): Promise<number> {
  const args = commandArgs(CONTROL_OPTIONS, argv, USAGE, { positional: { max: 1 } });
  if (!args) return 0;
  const ifname = pickInterface(args.values.interface);
  let status = (await controlRequest(ifname, { op: 'status' })) as DeviceStatus;
  const peer = args.positional[0];
  if (peer !== undefined) {
    status = { ...status, peers: status.peers.filter((p) => isPeer(p, peer)) };
    if (status.peers.length === 0) {
      process.stderr.write(`wgp2p status: no member "${peer}" in the room\n`);
      return 1;
    }
  }
  process.stdout.write(args.values.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status));
  return 0;
}

/** PEER as `wgp2p ping` takes it: name, DNS name (NAME.DOMAIN or NAME, any case), address or key. */
export function isPeer(p: DeviceStatus['peers'][number], ref: string): boolean {
  const dns = p.dnsName?.toLowerCase();
  const r = ref.toLowerCase().replace(/\.$/, '');
  return p.name === ref || p.address === ref || p.publicKey === ref || (dns !== undefined && (dns === r || dns.split('.')[0] === r));
}

function ago(iso: string | undefined): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}

/** What an exit node's offer carries, as Tailscale's status shows offered routes. */
const exitFamilies = (ipv6: boolean | undefined) => (ipv6 ? 'IPv4 and IPv6' : 'IPv4 only');

export function formatStatus(s: DeviceStatus): string {
  const lines = [`interface ${s.self.interface}  ${s.self.name ?? ''}  ${s.self.address ?? ''}  key ${s.self.publicKey ?? '(none)'}  port ${s.self.listenPort}${s.self.portmap ? `  portmap ${s.self.portmap}` : ''}`];
  const routes = [
    s.self.advertisedRoutes && `advertises ${s.self.advertisedRoutes.join(', ')}`,
    s.self.advertisesExitNode && `offers an exit node (${exitFamilies(s.self.advertisesExitNodeIpv6)})`,
    s.self.acceptedRoutes && `routes ${s.self.acceptedRoutes.map((r) => `${r.prefix} via ${r.via}`).join(', ')}`,
    s.self.exitNode && `exit node ${s.self.exitNode} (${s.self.exitNodeIpv6 ? 'IPv4 and IPv6' : 'IPv4 only, IPv6 dropped'})`,
  ].filter(Boolean);
  if (routes.length) lines.push(`  ${routes.join('  ')}`);
  for (const p of s.peers) {
    lines.push(
      `  ${p.name ?? p.publicKey.slice(0, 10)}${p.dnsName ? ` (${p.dnsName})` : ''}  ${p.address ?? '-'}  ${p.path ?? 'no path'}${p.relay ? ` (${p.relay})` : ''}  ${p.endpoint ?? '-'}` +
        `  rtt ${p.rttMs === undefined ? '-' : `${p.rttMs} ms`}  handshake ${ago(p.lastHandshake)}  rx ${p.rxBytes} tx ${p.txBytes}` +
        (p.offersExitNode ? `  offers exit node (${exitFamilies(p.offersExitNodeIpv6)})` : ''),
    );
    if (p.whyRelayed) lines.push(`    ${formatWhyRelayed(p.whyRelayed)}`);
  }
  const drops = Object.entries(s.counters).filter(([, n]) => n > 0);
  if (drops.length) lines.push(`  counters: ${drops.map(([k, n]) => `${k}=${n}`).join(' ')}`);
  return lines.join('\n') + '\n';
}
