// NAT-lab sites whose router runs a real miniupnpd (Debian's miniupnpd-nftables) on top of a
// symmetric or port-restricted NAT, with exactly one of UPnP IGD, NAT-PMP or PCP answering.
//
//   const s = await miniupnpdSite(lab, 'mp', { nat: 'symmetric', protocol: 'pcp' });
//   s.site.hosts[0] ...                       // the LAN host, gateway s.site.router at 10.n.0.1
//   await s.redirects()                       // miniupnpd's current DNAT rules, as text
//   await s.stop()                            // or let the lab's teardown kill it
//
// miniupnpd refuses to map on a reserved WAN address (203.0.113.0/24 among them), so these
// routers sit on 100.128.0.(10+k), a non-reserved /24 that exists only on the lab's bridge.
// miniupnpd answers NAT-PMP and PCP on one socket (5351) and has no switch for either alone:
// the router's `inet miniupnpd` table drops, by the first payload byte (the version: 0 NAT-PMP,
// 2 PCP), the one not wanted, and UPnP is enable_upnp. The same table holds the chains
// miniupnpd fills (it creates none itself): DNAT in prerouting_miniupnpd, accept rules in
// miniupnpd (forward), SNAT in postrouting_miniupnpd (ahead of the kind's masquerade). The
// `ip natlab` forward chain, whose policy is drop, gets one rule accepting DNATed inbound flows.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatLab, Site } from './nat-lab.js';
import { LAN_IF, NAT_TABLE, WAN_IF } from './nat-rules.js';
import type { ManagedProcess } from './process.js';

export const MINIUPNPD = '/usr/sbin/miniupnpd';
export const MINIUPNPD_PROTOCOLS = ['upnp', 'natpmp', 'pcp'] as const;
export type MiniupnpdProtocol = (typeof MINIUPNPD_PROTOCOLS)[number];
export const MINIUPNPD_NATS = ['symmetric', 'port-restricted'] as const;
export type MiniupnpdNat = (typeof MINIUPNPD_NATS)[number];
export const MINIUPNPD_TABLE = 'miniupnpd';
export const PORTMAP_WAN_PREFIX = '100.128.0';
const PORTMAP_WAN_FIRST_HOST = 10;
const NATPMP_PCP_PORT = 5351;
const PMP_VERSION = { natpmp: 0, pcp: 2 } as const;
/** Leases as short as the mapper's tests ask for (miniupnpd's default minimum is 120 s). */
const MIN_LIFETIME_S = 10;
const MAX_LIFETIME_S = 3600;
const READY_TIMEOUT_MS = 5_000;

export interface MiniupnpdSiteOptions {
  nat: MiniupnpdNat;
  protocol: MiniupnpdProtocol;
  /** LAN hosts (default 1). */
  hosts?: number;
}

export interface MiniupnpdSite {
  readonly site: Site;
  readonly protocol: MiniupnpdProtocol;
  readonly daemon: ManagedProcess;
  /** The DNAT rules miniupnpd holds now (`nft list chain ... prerouting_miniupnpd`). */
  redirects(): Promise<string>;
  stop(): Promise<void>;
}

let sitesMade = 0;

/** The nftables table miniupnpd works in, with the protocol filter for `protocol`. */
export function miniupnpdRuleset(protocol: MiniupnpdProtocol): string {
  const pmpFilter =
    protocol === 'upnp'
      ? [`    udp dport ${NATPMP_PCP_PORT} drop`]
      : // @th,64,8 is the first byte after the 8-byte UDP header: the NAT-PMP/PCP version.
        [`    udp dport ${NATPMP_PCP_PORT} @th,64,8 != ${PMP_VERSION[protocol]} drop`];
  return [
    `table inet ${MINIUPNPD_TABLE}`,
    `delete table inet ${MINIUPNPD_TABLE}`,
    `table inet ${MINIUPNPD_TABLE} {`,
    `  comment "${protocol}"`,
    `  chain input {`,
    `    type filter hook input priority filter - 10; policy accept;`,
    `    iifname != "${LAN_IF}" accept`,
    ...pmpFilter,
    `  }`,
    `  chain forward {`,
    `    type filter hook forward priority filter; policy accept;`,
    `    jump miniupnpd`,
    `  }`,
    `  chain miniupnpd {`,
    `  }`,
    `  chain prerouting {`,
    `    type nat hook prerouting priority dstnat - 10; policy accept;`,
    `    jump prerouting_miniupnpd`,
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat - 10; policy accept;`,
    `    jump postrouting_miniupnpd`,
    `  }`,
    `  chain prerouting_miniupnpd {`,
    `  }`,
    `  chain postrouting_miniupnpd {`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

export function miniupnpdConfig(protocol: MiniupnpdProtocol, lan: string, leaseFile: string): string {
  return [
    `ext_ifname=${WAN_IF}`,
    `listening_ip=${LAN_IF}`,
    `enable_upnp=${protocol === 'upnp' ? 'yes' : 'no'}`,
    `enable_natpmp=${protocol === 'upnp' ? 'no' : 'yes'}`,
    // Clients may map only to themselves.
    'secure_mode=yes',
    `upnp_table_name=${MINIUPNPD_TABLE}`,
    `upnp_nat_table_name=${MINIUPNPD_TABLE}`,
    `min_lifetime=${MIN_LIFETIME_S}`,
    `max_lifetime=${MAX_LIFETIME_S}`,
    `lease_file=${leaseFile}`,
    `allow 1024-65535 ${lan}/24 1024-65535`,
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n');
}

/** A `nat` site (WAN 100.128.0.x) whose router runs miniupnpd answering `protocol` only. */
export async function miniupnpdSite(lab: NatLab, name: string, opts: MiniupnpdSiteOptions): Promise<MiniupnpdSite> {
  const wanAddress = `${PORTMAP_WAN_PREFIX}.${PORTMAP_WAN_FIRST_HOST + sitesMade++}`;
  const site = await lab.site(name, opts.nat, { wanAddress, hosts: opts.hosts ?? 1 });
  const router = site.router!;
  const lanNet = site.hostAddresses[0]!.split('.').slice(0, 3).concat('0').join('.');
  await router.exec('nft', ['-f', '-'], { input: miniupnpdRuleset(opts.protocol) });
  await router.exec('nft', ['insert', 'rule', 'ip', NAT_TABLE, 'forward', 'iifname', WAN_IF, 'oifname', LAN_IF, 'ct', 'status', 'dnat', 'accept']);
  const dir = lab.lab?.logDir ?? '/tmp';
  const conf = join(dir, `${router.name}.miniupnpd.conf`);
  await writeFile(conf, miniupnpdConfig(opts.protocol, lanNet, join(dir, `${router.name}.miniupnpd.leases`)));
  const daemon = router.spawn(MINIUPNPD, ['-d', '-f', conf, '-P', join(dir, `${router.name}.miniupnpd.pid`)], { name: `${router.name}.miniupnpd` });
  const ready = opts.protocol === 'upnp' ? /HTTP listening on port/ : /Listening for NAT-PMP\/PCP traffic/;
  await daemon.waitForOutput(ready, READY_TIMEOUT_MS);
  return {
    site,
    protocol: opts.protocol,
    daemon,
    redirects: async () => (await router.exec('nft', ['list', 'chain', 'inet', MINIUPNPD_TABLE, 'prerouting_miniupnpd'])).stdout,
    stop: async () => { await daemon.kill('SIGTERM'); },
  };
}
