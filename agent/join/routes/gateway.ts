// The advertising side on a real host: a subnet router (`--advertise-routes`) or an exit node
// (`--advertise-exit-node`) forwards room traffic, so IPv4 forwarding goes on (and back off on
// exit if it was off). `--snat-routes` masquerades room traffic into the advertised LANs (for
// LANs whose hosts have no route back to the room); an exit node masquerades all traffic leaving
// the room. The NAT rules live in an nftables table of our own, named after the interface,
// replaced atomically at start (a crashed run's copy goes with it) and deleted on exit.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from '../../../shared/log.js';
import { findTool } from '../../tun/link-config.js';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const NFT_TIMEOUT_MS = 10_000;

export interface GatewayOptions {
  ifname: string;
  /** The room subnet, e.g. 10.147.0.0/16: the sources we masquerade. */
  roomSubnet: string;
  routes: readonly string[];
  snatRoutes: boolean;
  exitNode: boolean;
  log: Logger;
}

export interface Gateway {
  /** Undoes what start did. Synchronous: runs at exit. */
  close(): void;
}

/** nftables identifiers are letters, digits and underscores; interface names may hold - and . too. */
export function natTableName(ifname: string): string {
  return `wgp2p_${ifname.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** The nft script of our NAT table (with a delete first: `nft -f` applies it as one transaction). */
export function natRuleset(o: Pick<GatewayOptions, 'ifname' | 'roomSubnet' | 'routes' | 'snatRoutes' | 'exitNode'>): string | undefined {
  const out = `oifname != "${o.ifname}"`;
  const rules = o.exitNode
    ? [`ip saddr ${o.roomSubnet} ${out} masquerade`]
    : o.snatRoutes && o.routes.length > 0
      ? [`ip saddr ${o.roomSubnet} ip daddr { ${o.routes.join(', ')} } ${out} masquerade`]
      : [];
  if (rules.length === 0) return undefined;
  const table = natTableName(o.ifname);
  return [
    `table ip ${table}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

function nft(args: string[], input?: string): void {
  execFileSync(findTool('nft'), args, { input, timeout: NFT_TIMEOUT_MS, stdio: ['pipe', 'ignore', 'pipe'] });
}

/** Turns forwarding and our NAT on; throws a message fit for a user when the host refuses. */
export function startGateway(o: GatewayOptions): Gateway {
  if (o.routes.length === 0 && !o.exitNode) return { close: () => undefined };
  let restoreForward = false;
  try {
    if (readFileSync(IP_FORWARD, 'utf8').trim() !== '1') {
      writeFileSync(IP_FORWARD, '1');
      restoreForward = true;
    }
  } catch (e) {
    throw new Error(`routing for the room needs IPv4 forwarding: cannot set ${IP_FORWARD} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const unforward = () => {
    if (!restoreForward) return;
    restoreForward = false;
    try {
      writeFileSync(IP_FORWARD, '0');
    } catch (e) {
      o.log.warn('IPv4 forwarding not turned back off', { error: (e as Error).message });
    }
  };
  const ruleset = natRuleset(o);
  if (ruleset) {
    try {
      nft(['-f', '-'], ruleset);
    } catch (e) {
      unforward();
      throw new Error(`cannot set up masquerading with nftables: ${String((e as { stderr?: Buffer }).stderr ?? '').trim() || (e as Error).message}`);
    }
  }
  o.log.info('forwarding room traffic', { routes: o.routes, exitNode: o.exitNode, masquerade: ruleset ? (o.exitNode ? 'all leaving traffic' : 'into the routes') : 'none', ipForward: restoreForward ? 'turned on' : 'was on' });
  return {
    close() {
      if (ruleset) {
        try {
          nft(['delete', 'table', 'ip', natTableName(o.ifname)]);
        } catch (e) {
          o.log.warn('nftables table not deleted', { table: natTableName(o.ifname), error: (e as Error).message });
        }
      }
      unforward();
    },
  };
}
