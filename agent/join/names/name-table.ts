// Member names as DNS names: every member's announced name made a valid DNS label (lower case,
// a-z 0-9 and inner hyphens), clashes settled by the rule of room addresses (room-address.ts):
// the earliest claim keeps the label, equal times go to the lower public key, the others get
// LABEL-2, LABEL-3, ... in that order. So `alice.office` means the same member on every machine
// of the room, and an insider grinding keys cannot take a name from the member that holds it.
import { claimTime, compareClaims } from '../room/room-address.js';

/** The longest DNS label (RFC 1035). */
export const MAX_LABEL = 63;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export interface NamedMember {
  /** The base64 public key: the tie-breaker, identical on every member. */
  key: string;
  name: string;
  address: string;
  /** Since when it holds its name (wall ms), as we credit it (claimTime). */
  since: number;
}

/** A room member's name claim as announced (room-members.ts). */
export interface NameClaim {
  key: string;
  name: string;
  address: string;
  claimsSince: number;
  claimsSeenAt: number | undefined;
}

/** Ourselves and the room's members, as the names see them. */
export function namedMembers(self: NamedMember, members: Iterable<NameClaim>): NamedMember[] {
  return [self, ...[...members].map((m) => ({ key: m.key, name: m.name, address: m.address, since: claimTime(m.claimsSince, m.claimsSeenAt) }))];
}

export interface NameEntry extends NamedMember {
  /** The DNS label this member got in the room. */
  label: string;
}

export function isDnsLabel(text: string): boolean {
  return LABEL.test(text);
}

/**
 * A member name as a DNS label, deterministically: lower case, every other character a hyphen,
 * no leading, trailing or doubled hyphens. A name with nothing left becomes "member".
 */
export function dnsLabel(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_LABEL)
    .replace(/-+$/, '');
  return label.length > 0 ? label : 'member';
}

/** LABEL-n, shortening LABEL so the whole stays one valid label. */
function suffixed(label: string, n: number): string {
  const tail = `-${n}`;
  return label.slice(0, MAX_LABEL - tail.length).replace(/-+$/, '') + tail;
}

/** The room's names, earliest claim first within each label; the result is the same whatever order `members` come in. */
export function assignLabels(members: readonly NamedMember[]): NameEntry[] {
  const sorted = [...members].map((m) => ({ m, publicKey: Buffer.from(m.key, 'base64'), since: m.since })).sort(compareClaims).map((c) => c.m);
  const taken = new Set<string>();
  const owners = new Map<string, NamedMember>();
  for (const m of sorted) {
    const label = dnsLabel(m.name);
    if (!owners.has(label)) owners.set(label, m);
    taken.add(label);
  }
  const out: NameEntry[] = [];
  for (const m of sorted) {
    const base = dnsLabel(m.name);
    let label = base;
    if (owners.get(base) !== m) {
      // A suffixed label never takes one a member announced itself.
      for (let n = 2; ; n++) {
        label = suffixed(base, n);
        if (!taken.has(label)) break;
      }
      taken.add(label);
    }
    out.push({ ...m, label });
  }
  return out;
}

/** Names → members for one DOMAIN, case-insensitive. */
export class NameTable {
  private readonly byLabel = new Map<string, NameEntry>();
  private readonly byKey = new Map<string, NameEntry>();

  constructor(
    readonly domain: string,
    members: readonly NamedMember[],
  ) {
    for (const e of assignLabels(members)) {
      this.byLabel.set(e.label, e);
      this.byKey.set(e.key, e);
    }
  }

  get size(): number {
    return this.byLabel.size;
  }

  /** The member's fully qualified name, e.g. "alice.office". */
  fqdn(key: string): string | undefined {
    const e = this.byKey.get(key);
    return e && `${e.label}.${this.domain}`;
  }

  label(key: string): string | undefined {
    return this.byKey.get(key)?.label;
  }

  /** True when `name` is DOMAIN or below it. */
  inDomain(name: string): boolean {
    const n = normalize(name);
    return n === this.domain || n.endsWith(`.${this.domain}`);
  }

  /** The member called `name` (LABEL.DOMAIN, or a bare LABEL when `bare`). */
  lookup(name: string, bare = false): NameEntry | undefined {
    const n = normalize(name);
    if (bare && !n.includes('.')) return this.byLabel.get(n);
    if (!n.endsWith(`.${this.domain}`)) return undefined;
    return this.byLabel.get(n.slice(0, -this.domain.length - 1));
  }
}

/** Lower case, without the root's trailing dot. */
export function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** A DNS domain (--dns-domain, or the room name made one): labels joined by dots. */
export function parseDnsDomain(text: string): string {
  const d = normalize(text);
  if (d.length === 0 || d.length > 200 || !d.split('.').every(isDnsLabel)) throw new Error(`expected a DNS domain like "office" or "corp.example", got "${text}"`);
  return d;
}

/** The default domain: the room name as a DNS name (each dot-separated part made a label). */
export function domainForRoom(room: string): string {
  return room
    .split('.')
    .filter((p) => p.length > 0)
    .map(dnsLabel)
    .join('.')
    .slice(0, 200);
}
