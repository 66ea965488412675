// A default route (AllowedIPs 0.0.0.0/0 or ::/0) through the tunnel, made the way wg-quick makes
// it: the default route goes into a routing table of its own, and a rule sends everything that
// does *not* carry the tunnel's fwmark to that table; the engine marks its own UDP datagrams, so
// they keep using the main table and never loop into the tunnel. A second rule lets the main
// table win for everything but its default route (`suppress_prefixlength 0`), so the LAN and
// more specific routes keep working.
import { writeFileSync } from 'node:fs';
import { checkIfName } from './ifname.js';
import { runIp, runIpSync } from './link-config.js';

/** wg-quick's table (and fwmark) when the interface has no fwmark of its own. */
export const DEFAULT_ROUTE_TABLE = 51820;

export interface DefaultRoute {
  /** Removes the rules (the table's route goes with the device). Synchronous: runs at exit. */
  remove(): void;
}

function rules(family: 4 | 6, table: number): string[][] {
  const f = family === 4 ? '-4' : '-6';
  return [
    [f, 'rule', 'add', 'not', 'fwmark', String(table), 'table', String(table)],
    [f, 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0'],
  ];
}

/** Deletes every copy of the rule `add` would make (left over by a run that was killed). */
function deleteAll(add: string[]): void {
  const del = add.map((a) => (a === 'add' ? 'del' : a));
  for (let i = 0; i < 64 && runIpSync(del); i++);
}

/**
 * Routes `family`'s default into `ifname` through table `table`, for traffic without fwmark
 * `table`. Throws (with ip's message) when policy routing cannot be set up; nothing is left then.
 */
export async function routeDefaultThroughTunnel(ifname: string, family: 4 | 6, table: number): Promise<DefaultRoute> {
  checkIfName(ifname);
  const f = family === 4 ? '-4' : '-6';
  const made = rules(family, table);
  for (const r of made) deleteAll(r);
  const remove = () => made.forEach(deleteAll);
  try {
    await runIp([f, 'route', 'replace', family === 4 ? '0.0.0.0/0' : '::/0', 'dev', ifname, 'table', String(table)]);
    for (const r of made) await runIp(r);
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
  return { remove };
}
