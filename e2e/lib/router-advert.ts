// A real IPv6 router advertisement on a lab link, for hosts that take their IPv6 default route
// from RAs (SLAAC). Node has no raw sockets, so a few lines of Python send it (ICMPv6 type 134,
// hop limit 255 as RFC 4861 requires, the kernel fills in the checksum and the link-local source).
import type { Netns } from './netns.js';
import { waitFor } from './process.js';

/** How long the advertised default route lives (seconds); far beyond any test. */
const ROUTER_LIFETIME_S = 1800;

const SEND_RA = `import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.sendto(struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, ${ROUTER_LIFETIME_S}, 0, 0), ('ff02::1', 0, 0, socket.if_nametoindex(sys.argv[1])))`;

/** Sends one RA from `ns` out of `dev` to all nodes on the link. */
export async function sendRouterAdvert(ns: Netns, dev = 'eth0'): Promise<void> {
  await ns.exec('python3', ['-c', SEND_RA, dev]);
}

/** The default routes `ns` learned from RAs (`ip -6 route show default proto ra`), one a line. */
export async function raDefaultRoutes(ns: Netns): Promise<string> {
  return (await ns.ip(['-6', 'route', 'show', 'default', 'proto', 'ra'])).stdout.trim();
}

/**
 * Advertises from `router` until `host` holds an RA default route (the router's link-local address
 * may still be tentative at first); returns that route.
 */
export async function learnRaDefault(router: Netns, host: Netns, dev = 'eth0'): Promise<string> {
  return waitFor(async () => {
    await sendRouterAdvert(router, dev);
    return raDefaultRoutes(host);
  }, { timeoutMs: 10_000, intervalMs: 300, what: 'a default route learned from a router advertisement' });
}
