// Which advertised LAN prefixes a member routes, and through whom: the pure decision, so every
// rule is a unit test. A prefix is refused when it is special space (route-prefix.ts) or overlaps
// something of ours (the room subnet, our own LANs, the routes we advertise ourselves): routing
// it into the tunnel would take that traffic away from where it belongs. Two members advertising
// the same prefix: the earliest claim carries it, equal times the lower public key (the rule of
// room addresses, room-address.ts, so grinding a key cannot take over another member's prefix);
// when it goes away the next one takes over on the next decision.
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { parsePrefix, type Prefix } from '../../../shared/net/address.js';
import { claimTime, compareClaims } from '../room/room-address.js';
import { overlaps, parseRoute, specialRange } from './route-prefix.js';

export interface RouteOffer {
  key: string;
  publicKey: Buffer;
  name: string;
  routes: readonly string[];
  /** Since when it advertises them (signed), and when we first saw them (room-members.ts). */
  claimsSince: number;
  claimsSeenAt: number | undefined;
}

/** Something of ours a member's prefix must not overlap, and how to name it in a log line. */
export interface Conflict {
  prefix: Prefix;
  what: string;
}

export interface Refusal {
  name: string;
  key: string;
  prefix: string;
  reason: string;
}

export interface RouteChoice {
  /** Accepted prefix → the member that carries it. */
  chosen: Map<string, RouteOffer>;
  refused: Refusal[];
}

export function chooseRoutes(offers: readonly RouteOffer[], conflicts: readonly Conflict[]): RouteChoice {
  const chosen = new Map<string, RouteOffer>();
  const refused: Refusal[] = [];
  const claimOf = (o: RouteOffer) => ({ publicKey: o.publicKey, since: claimTime(o.claimsSince, o.claimsSeenAt) });
  for (const offer of offers) {
    for (const text of offer.routes) {
      const p = parseRoute(text);
      const reason = !p ? 'malformed' : specialRange(p) ?? conflicts.find((c) => overlaps(c.prefix, p))?.what;
      if (reason) {
        refused.push({ name: offer.name, key: offer.key, prefix: text, reason });
        continue;
      }
      const held = chosen.get(text);
      if (!held || compareClaims(claimOf(offer), claimOf(held)) < 0) chosen.set(text, offer);
    }
  }
  return { chosen, refused };
}

/** The IPv4 and IPv6 subnets of our interfaces (all but `exclude`, the tunnel's), as conflicts. */
export function lanConflicts(exclude: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): Conflict[] {
  const out: Conflict[] = [];
  for (const [name, list] of Object.entries(interfaces)) {
    if (name === exclude || !list) continue;
    for (const i of list) {
      if (i.internal || !i.cidr) continue;
      try {
        out.push({ prefix: parsePrefix(i.cidr), what: `our LAN ${i.cidr} on ${name}` });
      } catch {
        /* an address the OS reports oddly is no LAN of ours to protect */
      }
    }
  }
  return out;
}
