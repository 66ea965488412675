// A default route (AllowedIPs 0.0.0.0/0 or ::/0) through the tunnel, made the way wg-quick makes
// it: the default route goes into a routing table of its own, and a rule sends everything that
// does *not* carry the tunnel's fwmark to that table; the engine marks its own UDP datagrams, so
// they keep using the main table and never loop into the tunnel. A second rule lets the main
// table win for everything but its default route (`suppress_prefixlength 0`), so the LAN and
// more specific routes keep working. Other tunnels may hold the same rules: we add one copy of
// each and remove exactly one copy, never theirs.
import { writeFileSync } from 'node:fs';
import { checkIfName } from './ifname.js';
import { addRoute, runIp, runIpSync } from './link-config.js';

/** wg-quick's first table (and fwmark) when the interface has no fwmark of its own. */
export const DEFAULT_ROUTE_TABLE = 51820;
/** unspec, default, main, local: tables the kernel gives a meaning of their own. */
const RESERVED_TABLES = new Set([0, 253, 254, 255]);

export interface DefaultRoute {
  readonly table: number;
  /** Removes our rules (the table's route goes with the device). Synchronous: runs at exit. */
  remove(): void;
}

export interface DefaultRouteOptions {
  /** The main table still wins for all but its default route (wg-quick's rule; default true). */
  keepMain?: boolean;
  /** Addresses that keep using the main table whatever the rest does (a join's signal server, its gateway). */
  bypass?: readonly string[];
}

// Rules added without a priority go before the ones already there: the last added is read first.
function rules(family: 4 | 6, table: number, o: DefaultRouteOptions): string[][] {
  const f = family === 4 ? '-4' : '-6';
  const host = family === 4 ? 32 : 128;
  return [
    [f, 'rule', 'add', 'not', 'fwmark', String(table), 'table', String(table)],
    ...(o.keepMain === false ? [] : [[f, 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0']]),
    ...(o.bypass ?? []).map((a) => [f, 'rule', 'add', 'to', `${a}/${host}`, 'table', 'main']),
  ];
}

const deleting = (add: string[]) => add.map((a) => (a === 'add' ? 'del' : a));

/** A table with a route in either family (one that does not exist yet fails: free). */
function tableInUse(table: number): boolean {
  return ['-4', '-6'].some((f) => (runIpSync([f, 'route', 'show', 'table', String(table)]) ?? '').trim() !== '');
}

/** The first table from 51820 up that holds no route (as wg-quick picks it), for an interface with no fwmark. */
export function freeDefaultRouteTable(): number {
  for (let table = DEFAULT_ROUTE_TABLE; table < DEFAULT_ROUTE_TABLE + 1000; table++) if (!tableInUse(table)) return table;
  throw new Error(`no free routing table from ${DEFAULT_ROUTE_TABLE} to ${DEFAULT_ROUTE_TABLE + 999}`);
}

/**
 * Routes `family`'s default into `ifname` through table `table`, for traffic without fwmark
 * `table`. Throws (with ip's message) when policy routing cannot be set up, after removing the
 * rules it had added.
 */
export async function routeDefaultThroughTunnel(ifname: string, family: 4 | 6, table: number, o: DefaultRouteOptions = {}): Promise<DefaultRoute> {
  checkIfName(ifname);
  if (RESERVED_TABLES.has(table) || !Number.isInteger(table) || table < 0 || table > 0xffffffff) {
    throw new Error(`fwmark ${table} names a reserved routing table (0, 253, 254, 255): pick another FwMark for a default route`);
  }
  const added: string[][] = [];
  const defaultPrefix = family === 4 ? '0.0.0.0/0' : '::/0';
  let routed = false;
  const remove = () => {
    added.splice(0).forEach((r) => runIpSync(deleting(r)));
    // Gone with the device at exit; a join dropping its exit node keeps the device.
    if (routed) runIpSync([family === 4 ? '-4' : '-6', 'route', 'del', defaultPrefix, 'dev', ifname, 'table', String(table)]);
    routed = false;
  };
  try {
    await addRoute(ifname, defaultPrefix, table);
    routed = true;
    for (const r of rules(family, table, o)) {
      await runIp(r);
      added.push(r);
    }
  } catch (e) {
    remove();
    throw e;
  }
  if (family === 4) {
    // The kernel's reverse-path check must look at the mark too, or replies to marked datagrams
    // can be dropped (wg-quick sets the same).
    try {
      writeFileSync('/proc/sys/net/ipv4/conf/all/src_valid_mark', '1');
    } catch {
      /* not fatal: only strict rp_filter setups need it */
    }
  }
  return { table, remove };
}
