// The host side of `--exit-node`: the default route into the tunnel, made with `wgp2p up`'s
// wg-quick machinery (agent/tun/default-route.ts): a table of its own, a rule for everything
// without the tunnel's fwmark (our WireGuard socket carries it, so the tunnel's own datagrams stay
// outside), the signal server (all its addresses, both families) and the default gateway kept on the main table, and with
// --exit-node-allow-lan wg-quick's suppress_prefixlength rule (the LAN's routes stay direct).
// Both families go in, whether the exit node carries IPv6 or not: the engine gives ::/0 to it only
// when it offers IPv6 (exit-node.ts), else IPv6 ends in the tunnel with no peer and is dropped,
// never leaking around the exit node. A host that refuses IPv6 rules has no IPv6 to leak (logged).
// up() and down() may race (an exit node that comes and goes): the last call wins.
import type { Logger } from '../../../shared/log.js';
import { parseIp } from '../../../shared/net/ip-bytes.js';
import { routeDefaultThroughTunnel, type DefaultRoute } from '../../tun/default-route.js';
import { runIpSync } from '../../tun/link-config.js';
import type { ExitRoutePort } from './exit-node.js';

export interface HostExitRouteOptions {
  ifname: string;
  /** The routing table, also the fwmark of the tunnel's socket. */
  table: number;
  allowLan: boolean;
  /** The signal server's addresses, both families (resolved when the route goes up). */
  serverAddresses(): Promise<string[]>;
  log: Logger;
}

/** The gateways of `family` in the main table's default routes (`default via X dev Y`). */
export function defaultGateways(routeShow: string, family: 4 | 6 = 4): string[] {
  return [...routeShow.matchAll(/^default .*?\bvia (\S+)/gm)].map((m) => m[1]!).filter((a) => parseIp(a)?.family === `IPv${family}`);
}

/** The interfaces of the default routes in `ip route show default` output. */
export function defaultRouteDevices(routeShow: string): string[] {
  return [...new Set([...routeShow.matchAll(/^default .*?\bdev (\S+)/gm)].map((m) => m[1]!))];
}

export function hostExitRoute(o: HostExitRouteOptions): ExitRoutePort {
  let routes: DefaultRoute[] | undefined;
  let wanted = false;
  return {
    async up() {
      wanted = true;
      if (routes) return;
      const server = await o.serverAddresses().catch(() => []);
      const ofFamily = (f: 4 | 6) => server.filter((a) => parseIp(a)?.family === `IPv${f}`);
      const gateways = defaultGateways(runIpSync(['-4', 'route', 'show', 'default']) ?? '');
      const bypass = [...new Set([...ofFamily(4), ...gateways])];
      const made = [await routeDefaultThroughTunnel(o.ifname, 4, o.table, { keepMain: o.allowLan, bypass })];
      const bypass6 = [...new Set([...ofFamily(6), ...defaultGateways(runIpSync(['-6', 'route', 'show', 'default']) ?? '', 6)])];
      try {
        made.push(await routeDefaultThroughTunnel(o.ifname, 6, o.table, { keepMain: o.allowLan, bypass: bypass6 }));
      } catch (e) {
        o.log.warn('no IPv6 default route through the tunnel (the host refuses IPv6 rules)', { error: (e as Error).message });
      }
      if (!wanted || routes) {
        made.forEach((r) => r.remove());
        return;
      }
      routes = made;
      o.log.info('default route through the tunnel', { table: o.table, fwmark: o.table, direct: [...bypass, ...bypass6], lan: o.allowLan ? 'direct' : 'through the exit node', ipv6: made.length > 1 ? 'into the tunnel' : 'none' });
    },
    down() {
      wanted = false;
      if (!routes) return;
      routes.forEach((r) => r.remove());
      routes = undefined;
      o.log.info('default route restored', { table: o.table });
    },
  };
}
