// The advertising side on a real host: a subnet router (`--advertise-routes`) or an exit node
// (`--advertise-exit-node`) forwards room traffic, so forwarding goes on for each family it
// routes (IPv4 ip_forward, IPv6 conf.all.forwarding; an exit node's IPv6 only when it offers it).
// `--snat-routes` masquerades room traffic
// into the advertised LANs (for LANs whose hosts have no route back to the room); an exit node
// masquerades all traffic leaving the room. The NAT rules live in nftables tables of our own
// (ip, and ip6 for IPv6), named after the interface, replaced atomically at start. Every change
// is recorded in the state directory first (host-changes.ts): undone on exit, and after a crash
// on the next start whatever the flags say then. Whenever we turn IPv6 forwarding on, the uplinks
// that take router advertisements (accept_ra 1) get accept_ra 2 first: with forwarding on Linux
// ignores RAs at 1, and turning it on purges the RA-learned default routes of every interface
// whose accept_ra is not 2, so a host on SLAAC would lose its IPv6 way out.
import { join } from 'node:path';
import type { Logger } from '../../../shared/log.js';
import { parsePrefix } from '../../../shared/net/address.js';
import { HostChanges, nft, writeFiles, type HostChange } from '../host-changes.js';

const PROC_SYS = '/proc/sys';
/** Under PROC_SYS. */
const FORWARDING: Record<4 | 6, string> = { 4: 'net/ipv4/ip_forward', 6: 'net/ipv6/conf/all/forwarding' };
const acceptRaPath = (dev: string) => `net/ipv6/conf/${dev}/accept_ra`;
/** accept_ra values: RAs taken unless forwarding (Linux's default); RAs taken even while forwarding. */
const ACCEPT_RA_HOST = '1';
const ACCEPT_RA_FORWARDING = '2';
const NFT_FAMILY = { 4: 'ip', 6: 'ip6' } as const;
/** The state directory's record of our routing changes (`NAME.json`). */
const CHANGES_NAME = 'routing-changes';

export interface GatewayOptions {
  ifname: string;
  /** The room subnet, e.g. 10.147.0.0/16: the sources we masquerade. */
  roomSubnet: string;
  /** The room's IPv6 subnet, when members have IPv6 room addresses. */
  roomSubnet6?: string;
  /** IPv4 and IPv6 prefixes. */
  routes: readonly string[];
  snatRoutes: boolean;
  exitNode: boolean;
  /** The exit node carries IPv6 too (it has an IPv6 room address and an IPv6 default route). */
  exitNode6?: boolean;
  /** Interfaces of the host's IPv6 default routes: accept_ra 1 becomes 2 there while we forward IPv6. */
  uplinks6?: readonly string[];
  stateDir: string;
  log: Logger;
}

export interface Gateway {
  /** Undoes what start did. Synchronous: runs at exit. */
  close(): void;
}

type NatOptions = Pick<GatewayOptions, 'ifname' | 'roomSubnet' | 'roomSubnet6' | 'routes' | 'snatRoutes' | 'exitNode' | 'exitNode6'>;

/** nftables identifiers are letters, digits and underscores; interface names may hold - and . too. */
export function natTableName(ifname: string): string {
  return `wgp2p_${ifname.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

const routesOf = (routes: readonly string[], family: 4 | 6) => routes.filter((r) => parsePrefix(r).family === family);
/** An exit node carries IPv4, and IPv6 only when it offers it. */
const exitCarries = (o: NatOptions, family: 4 | 6) => o.exitNode && (family === 4 || !!o.exitNode6);

/**
 * The families we forward: those of our routes, and for an exit node IPv4, plus IPv6 when it
 * offers it (IPv6 forwarding has a cost on a host that takes its address from router
 * advertisements: Linux ignores them while forwarding with accept_ra=1, see gatewayPlan()).
 */
export function forwardedFamilies(o: NatOptions): (4 | 6)[] {
  return ([4, 6] as const).filter((f) => routesOf(o.routes, f).length > 0 || exitCarries(o, f));
}

/** The nft script of our NAT table for `family` (with a delete first: `nft -f` applies it as one transaction). */
export function natRuleset(o: NatOptions, family: 4 | 6): string | undefined {
  const sources = family === 4 ? o.roomSubnet : o.roomSubnet6;
  const routes = routesOf(o.routes, family);
  const ip = NFT_FAMILY[family];
  const out = `oifname != "${o.ifname}"`;
  const rules = !sources
    ? []
    : exitCarries(o, family)
      ? [`${ip} saddr ${sources} ${out} masquerade`]
      : o.snatRoutes && routes.length > 0
        ? [`${ip} saddr ${sources} ${ip} daddr { ${routes.join(', ')} } ${out} masquerade`]
        : [];
  if (rules.length === 0) return undefined;
  const table = natTableName(o.ifname);
  return [
    `table ${ip} ${table}`,
    `delete table ${ip} ${table}`,
    `table ${ip} ${table} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface GatewayStep {
  change: HostChange;
  ruleset?: string;
}

/**
 * The changes to make, in order: per family forwarding on (unless it is; for IPv6 the uplinks'
 * accept_ra 1 becomes 2 just before, so no RA-learned route is purged), then the NAT tables.
 * `procSys` is /proc/sys but for tests.
 */
export function gatewayPlan(o: NatOptions & Pick<GatewayOptions, 'uplinks6'>, procSys = PROC_SYS): GatewayStep[] {
  const steps: GatewayStep[] = [];
  const families = forwardedFamilies(o);
  for (const f of families) {
    const path = join(procSys, FORWARDING[f]);
    let change: HostChange;
    try {
      change = HostChanges.fileChange(path, () => '1');
    } catch (e) {
      throw new Error(`routing for the room needs IPv${f} forwarding: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (change.previous?.trim() === '1') continue;
    // Forwarding someone else turned on is theirs, and so is how the host takes RAs with it.
    if (f === 6) steps.push(...acceptRaSteps(o.uplinks6 ?? [], procSys));
    steps.push({ change });
  }
  for (const f of families) {
    const ruleset = natRuleset(o, f);
    if (ruleset) steps.push({ change: { kind: 'nft-table', family: NFT_FAMILY[f], table: natTableName(o.ifname) }, ruleset });
  }
  return steps;
}

/** accept_ra 2 on the uplinks at 1 (0 takes no RAs; 2 is already what we want). */
function acceptRaSteps(uplinks: readonly string[], procSys: string): GatewayStep[] {
  const steps: GatewayStep[] = [];
  for (const dev of uplinks) { // defaultRouteDevices lists each once
    let change: HostChange;
    try {
      change = HostChanges.fileChange(join(procSys, acceptRaPath(dev)), () => ACCEPT_RA_FORWARDING);
    } catch {
      continue; // unreadable: nothing we could put back
    }
    // A missing file (an interface gone since `ip route` named it) reads as null: skipped too.
    if (change.previous?.trim() === ACCEPT_RA_HOST) steps.push({ change });
  }
  return steps;
}

/**
 * Undoes what a crashed run left, then turns forwarding and our NAT on; throws a message fit for
 * a user when the host refuses (after undoing what it had done).
 */
export function startGateway(o: GatewayOptions): Gateway {
  const changes = new HostChanges(o.stateDir, CHANGES_NAME, o.log);
  if (changes.restoreLeftover()) o.log.info('routing changes a previous run left were undone');
  if (forwardedFamilies(o).length === 0) return { close: () => undefined };
  const steps = gatewayPlan(o);
  const done: HostChange[] = [];
  for (const { change, ruleset } of steps) {
    // Recorded before it is made: a crash in between still leaves a way back.
    changes.record([...done, change]);
    try {
      if (ruleset) nft(['-f', '-'], ruleset);
      else writeFiles([change]);
    } catch (e) {
      changes.record(done);
      changes.restoreLeftover();
      const why = String((e as { stderr?: Buffer }).stderr ?? '').trim() || (e as NodeJS.ErrnoException).code || (e as Error).message;
      throw new Error(change.kind === 'file' ? `routing for the room needs forwarding: cannot set ${change.path} (${why})` : `cannot set up masquerading with nftables: ${why}`);
    }
    done.push(change);
  }
  const files = done.flatMap((c) => (c.kind === 'file' ? [c.path] : []));
  const turnedOn = files.filter((f) => !f.endsWith('/accept_ra'));
  const acceptRa = files.filter((f) => f.endsWith('/accept_ra'));
  const tables = done.flatMap((c) => (c.kind === 'nft-table' ? [`${c.family} ${c.table}`] : []));
  o.log.info('forwarding room traffic', { routes: o.routes, exitNode: o.exitNode, masquerade: tables.length ? (o.exitNode ? 'all leaving traffic' : 'into the routes') : 'none', ...(tables.length && { tables }), forwarding: turnedOn.length ? `turned on: ${turnedOn.join(', ')}` : 'was on', ...(acceptRa.length && { acceptRa2: acceptRa }) });
  return { close: () => void changes.restoreLeftover() };
}
