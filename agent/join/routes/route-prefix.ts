// The LAN prefixes a member may announce (`--advertise-routes`): IPv4 or IPv6 (members reach
// IPv6 LANs from their IPv6 room addresses, room-ipv6.ts), canonical text (host bits clear, RFC
// 5952 for IPv6, so every member compares the same strings), a bounded list. Also the ranges no
// member may route through the room: loopback, link-local, multicast, unspecified, "this
// network", IPv4-mapped, and the default route (that is an exit node's offer, a separate flag).
import { formatPrefix, maskBytes, parseAddress, parsePrefix, type Prefix } from '../../../shared/net/address.js';

/** More routes than this in one announcement are refused: a LAN router has a handful. */
export const MAX_ANNOUNCED_ROUTES = 32;

const SPECIAL: readonly { prefix: Prefix; what: string }[] = [
  { prefix: parsePrefix('0.0.0.0/8'), what: 'this-network' },
  { prefix: parsePrefix('127.0.0.0/8'), what: 'loopback' },
  { prefix: parsePrefix('169.254.0.0/16'), what: 'link-local' },
  { prefix: parsePrefix('224.0.0.0/4'), what: 'multicast' },
  { prefix: parsePrefix('240.0.0.0/4'), what: 'reserved' },
  { prefix: parsePrefix('::/128'), what: 'unspecified' },
  { prefix: parsePrefix('::1/128'), what: 'loopback' },
  { prefix: parsePrefix('::ffff:0:0/96'), what: 'IPv4-mapped' },
  { prefix: parsePrefix('fe80::/10'), what: 'link-local' },
  { prefix: parsePrefix('ff00::/8'), what: 'multicast' },
];
/** The longest canonical prefix text: a full IPv6 address and "/128". */
const MAX_ROUTE_TEXT = 43;

/** The prefix of canonical CIDR text ("192.168.1.0/24", "2001:db8:1::/64"); undefined for anything else. */
export function parseRoute(text: unknown): Prefix | undefined {
  if (typeof text !== 'string' || text.length > MAX_ROUTE_TEXT || !text.includes('/')) return undefined;
  try {
    const p = parsePrefix(text);
    return formatPrefix(p) === text ? p : undefined;
  } catch {
    return undefined;
  }
}

/** An announced route list: canonical, distinct, bounded. Undefined when any entry is not. */
export function parseRouteList(v: unknown): string[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_ANNOUNCED_ROUTES) return undefined;
  const seen = new Set<string>();
  for (const r of v) {
    if (!parseRoute(r) || seen.has(r as string)) return undefined;
    seen.add(r as string);
  }
  return [...seen];
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  if (a.family !== b.family) return false;
  const bits = Math.min(a.bits, b.bits);
  return Buffer.from(maskBytes(a.bytes, bits)).equals(Buffer.from(maskBytes(b.bytes, bits)));
}

/** Why no member may route `p` through the room (default, loopback, ...); undefined when it may. */
export function specialRange(p: Prefix): string | undefined {
  if (p.bits === 0) return 'default-route';
  return SPECIAL.find((s) => overlaps(s.prefix, p))?.what;
}

/**
 * `--advertise-routes 192.168.1.0/24,2001:db8:1::/64` for our own announcement: no host bits, no
 * special range. Throws a message fit for a user.
 */
export function parseAdvertisedRoutes(text: string): string[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new Error('expected CIDR[,CIDR...] like 192.168.1.0/24 or 2001:db8:1::/64');
  if (items.length > MAX_ANNOUNCED_ROUTES) throw new Error(`at most ${MAX_ANNOUNCED_ROUTES} routes`);
  const out: string[] = [];
  for (const item of items) {
    let p: Prefix;
    try {
      p = parsePrefix(item);
    } catch (e) {
      throw new Error(`"${item}": ${(e as Error).message}`);
    }
    if (!item.includes('/')) throw new Error(`"${item}" is not a prefix like 192.168.1.0/24 or 2001:db8:1::/64`);
    const canonical = formatPrefix(p);
    // Host bits set; other spellings (upper case, uncompressed IPv6) are announced canonically.
    if (!Buffer.from(parseAddress(item.slice(0, item.indexOf('/'))).bytes).equals(Buffer.from(p.bytes))) throw new Error(`"${item}": host bits are set (did you mean ${canonical}?)`);
    const special = specialRange(p);
    if (special) throw new Error(`"${item}" is ${special === 'default-route' ? 'the default route (use --advertise-exit-node)' : `${special} space`}`);
    if (!out.includes(canonical)) out.push(canonical);
  }
  return out;
}
