// The host side of `--exit-node`: the default route into the tunnel, made with `wgp2p up`'s
// wg-quick machinery (agent/tun/default-route.ts): a table of its own, a rule for everything
// without the tunnel's fwmark (our WireGuard socket carries it, so the tunnel's own datagrams stay
// outside), the signal server and the default gateway kept on the main table, and with
// --exit-node-allow-lan wg-quick's suppress_prefixlength rule (the LAN's routes stay direct).
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
  /** The signal server's IPv4 address (resolved when the route goes up), if any. */
  serverAddress(): Promise<string | undefined>;
  log: Logger;
}

/** The IPv4 gateways of the main table's default routes (`default via X dev Y`). */
export function defaultGateways(routeShow: string): string[] {
  return [...routeShow.matchAll(/^default .*?\bvia (\S+)/gm)].map((m) => m[1]!).filter((a) => parseIp(a)?.family === 'IPv4');
}

export function hostExitRoute(o: HostExitRouteOptions): ExitRoutePort {
  let route: DefaultRoute | undefined;
  let wanted = false;
  return {
    async up() {
      wanted = true;
      if (route) return;
      const server = await o.serverAddress().catch(() => undefined);
      const gateways = defaultGateways(runIpSync(['-4', 'route', 'show', 'default']) ?? '');
      const bypass = [...new Set([...(server ? [server] : []), ...gateways])];
      const made = await routeDefaultThroughTunnel(o.ifname, 4, o.table, { keepMain: o.allowLan, bypass });
      if (!wanted || route) {
        made.remove();
        return;
      }
      route = made;
      o.log.info('default route through the tunnel', { table: o.table, fwmark: o.table, direct: bypass, lan: o.allowLan ? 'direct' : 'through the exit node' });
    },
    down() {
      wanted = false;
      if (!route) return;
      route.remove();
      route = undefined;
      o.log.info('default route restored', { table: o.table });
    },
  };
}
