// Where a member can be reached: host addresses of its own interfaces ("lan"), the address its
// NAT maps the WireGuard socket to, learned by STUN ("public"), and the mapping the gateway granted
// by PCP, NAT-PMP or UPnP ("portmap": open to any peer, even behind a symmetric NAT). Also the codec for candidates in
// announcements, which checks every one: a candidate is a place we will send probes to.
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { formatEndpoint, makeEndpoint, parseEndpoint, type Endpoint } from '../../../shared/net/address.js';
import { parseIp } from '../../../shared/net/ip-bytes.js';

export type CandidateKind = 'lan' | 'public' | 'portmap';
export const CANDIDATE_KINDS: readonly CandidateKind[] = ['lan', 'public', 'portmap'];
/** Reachable from anywhere: a peer probes these before the others (portmap first, the most reliable). */
export const PUBLIC_KINDS: readonly CandidateKind[] = ['portmap', 'public'];
/** Room left after the host candidates for the public and portmap ones. */
const NON_HOST_CANDIDATES = 2;
/** More than any real host has; bounds what one announcement can make us probe. */
export const MAX_CANDIDATES = 16;

export interface Candidate {
  kind: CandidateKind;
  endpoint: Endpoint;
}

/**
 * False for addresses no peer could reach us at or that we must never probe: unspecified,
 * loopback, multicast, limited broadcast, IPv4 and IPv6 link-local (the latter need a zone), and
 * 100::/64, where our relayed paths' virtual endpoints live (relay-endpoint.ts).
 */
export function isProbeableAddress(address: string): boolean {
  const ip = parseIp(address);
  if (!ip) return false;
  const b = ip.bytes;
  if (ip.family === 'IPv4') {
    if (b[0] === 0 || b[0] === 127 || b[0]! >= 224) return false;
    return !(b[0] === 169 && b[1] === 254);
  }
  if (b.every((x) => x === 0)) return false;
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return false;
  if (b[0] === 0xff) return false;
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return false;
  if (b[0] === 0x01 && b.slice(1, 8).every((x) => x === 0)) return false;
  // IPv4-mapped forms must arrive as plain IPv4.
  return !(b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff);
}

export function encodeCandidates(list: readonly Candidate[]): [CandidateKind, string][] {
  return list.map((c) => [c.kind, formatEndpoint(c.endpoint)]);
}

/** Parses announced candidates; undefined if anything in the list is malformed. */
export function parseCandidates(v: unknown): Candidate[] | undefined {
  if (!Array.isArray(v) || v.length > MAX_CANDIDATES) return undefined;
  const out: Candidate[] = [];
  for (const item of v) {
    if (!Array.isArray(item) || item.length !== 2) return undefined;
    const [kind, text] = item as unknown[];
    if (!CANDIDATE_KINDS.includes(kind as CandidateKind) || typeof text !== 'string' || text.length > 64) return undefined;
    let endpoint: Endpoint;
    try {
      endpoint = parseEndpoint(text);
    } catch {
      return undefined;
    }
    if (endpoint.address.includes('%') || !isProbeableAddress(endpoint.address)) return undefined;
    out.push({ kind: kind as CandidateKind, endpoint });
  }
  return out;
}

/** Portmap candidates first, then public ones, then the rest, each group in its order. */
export function publicFirst<T extends Pick<Candidate, 'kind'>>(list: readonly T[]): T[] {
  const rank = (c: T) => { const i = PUBLIC_KINDS.indexOf(c.kind); return i < 0 ? PUBLIC_KINDS.length : i; };
  return [...list].sort((a, b) => rank(a) - rank(b));
}

export function candidateKey(c: Candidate): string {
  return `${c.kind} ${formatEndpoint(c.endpoint)}`;
}

/** Order-insensitive equality: did a member's reachable set change? */
export function sameCandidates(a: readonly Candidate[], b: readonly Candidate[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a.map(candidateKey));
  return b.every((c) => keys.has(candidateKey(c)));
}

export interface HostCandidateOptions {
  /** The WireGuard socket's port. */
  port: number;
  /** Interfaces never to advertise: our own TUN (its address is reached through the tunnel). */
  excludeInterfaces: readonly string[];
  /** Addresses never to advertise, e.g. anything inside the room subnet. */
  excludeAddress?: (address: string) => boolean;
  /** Advertise IPv6 addresses (only when the socket is dual-stack). */
  ipv6: boolean;
  /** For tests; defaults to os.networkInterfaces(). */
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/** Host candidates: every usable address of every interface but the excluded ones, in a stable order. */
export function hostCandidates(o: HostCandidateOptions): Candidate[] {
  const out: Candidate[] = [];
  const ifaces = o.interfaces ?? networkInterfaces();
  for (const name of Object.keys(ifaces).sort()) {
    if (o.excludeInterfaces.includes(name)) continue;
    for (const info of ifaces[name] ?? []) {
      if (info.internal) continue;
      if (info.family === 'IPv6' && !o.ipv6) continue;
      if (!isProbeableAddress(info.address) || o.excludeAddress?.(info.address)) continue;
      out.push({ kind: 'lan', endpoint: makeEndpoint(info.address, o.port) });
      if (out.length === MAX_CANDIDATES - NON_HOST_CANDIDATES) return out;
    }
  }
  return out;
}
