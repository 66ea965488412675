// Member addresses inside the room subnet. Each member's address is derived from its public key,
// so it is stable across restarts without any coordination. Two members claiming one address are
// resolved the same way by everyone: the earlier claim keeps it (each claim says, signed, since
// when the member holds the address), equal times go to the lower public key, and the other moves
// to the first address of its own sequence that nobody claims and announces again. The earlier
// claim, not the lower key, wins because keys are free: an insider grinding keys would otherwise
// take any member's address.
import { createHash } from 'node:crypto';

export const DEFAULT_ROOM_SUBNET = '10.147.0.0/16';
/**
 * Clock skew allowed to a claim's time (addresses, names, prefixes): a claim we saw appear is taken
 * as no older than that moment minus this, so backdating can't beat a member we already saw
 * holding the address.
 */
export const ADDRESS_CLAIM_SKEW_MS = 60_000;
/** A room subnet needs room for members; /30 and longer leave none worth having. */
const SUBNET_BITS = { min: 8, max: 29 } as const;

export interface RoomSubnet {
  /** Network address as an unsigned 32-bit integer. */
  network: number;
  bits: number;
}

/** A member's own address and the subnet it routes to the TUN. */
export interface MemberAddress {
  address: string;
  subnet: RoomSubnet;
}

export function ipv4ToInt(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || (m[i + 1]!.length > 1 && m[i + 1]!.startsWith('0')))) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

export function formatSubnet(s: RoomSubnet): string {
  return `${intToIpv4(s.network)}/${s.bits}`;
}

export function inSubnet(address: string, s: RoomSubnet): boolean {
  const n = ipv4ToInt(address);
  return n !== undefined && ((n & maskOf(s.bits)) >>> 0) === s.network;
}

/** A usable host address of `s`: the only member addresses that get routed. */
export function isRoomHost(address: string, s: RoomSubnet): boolean {
  const n = ipv4ToInt(address);
  return n !== undefined && ((n & maskOf(s.bits)) >>> 0) === s.network && isUsableHost(n, s);
}

/** "10.147.0.0/16" (host bits must be zero). Throws a message fit for a user. */
export function parseSubnet(text: string): RoomSubnet {
  const [addr = '', bitsText, ...rest] = text.split('/');
  const n = ipv4ToInt(addr);
  if (n === undefined || rest.length > 0 || bitsText === undefined || !/^\d{1,2}$/.test(bitsText)) {
    throw new Error(`"${text}" is not an IPv4 subnet like ${DEFAULT_ROOM_SUBNET}`);
  }
  const bits = Number(bitsText);
  if (bits < SUBNET_BITS.min || bits > SUBNET_BITS.max) throw new Error(`"${text}": a room subnet must be /${SUBNET_BITS.min} to /${SUBNET_BITS.max}`);
  if (((n & maskOf(bits)) >>> 0) !== n) throw new Error(`"${text}": host bits are set (did you mean ${intToIpv4((n & maskOf(bits)) >>> 0)}/${bits}?)`);
  return { network: n, bits };
}

/**
 * `--address 10.147.7.9/16` (a bare address means the default /16 around it). The address must
 * be a usable host address of its subnet.
 */
export function parseMemberAddress(text: string): MemberAddress {
  const [addr = '', bitsText, ...rest] = text.split('/');
  const n = ipv4ToInt(addr);
  if (n === undefined || rest.length > 0 || (bitsText !== undefined && !/^\d{1,2}$/.test(bitsText))) {
    throw new Error(`--address "${text}" is not an IPv4 address like 10.147.0.7/16`);
  }
  const bits = bitsText === undefined ? 16 : Number(bitsText);
  if (bits < SUBNET_BITS.min || bits > SUBNET_BITS.max) throw new Error(`--address "${text}": the prefix must be /${SUBNET_BITS.min} to /${SUBNET_BITS.max}`);
  const subnet = { network: (n & maskOf(bits)) >>> 0, bits };
  if (!isUsableHost(n, subnet)) throw new Error(`--address "${text}" is the network or broadcast address of its subnet`);
  return { address: intToIpv4(n), subnet };
}

/** Not the network or broadcast address; and not .0 / .255, which some software mistreats. */
function isUsableHost(n: number, s: RoomSubnet): boolean {
  const host = (n & ~maskOf(s.bits)) >>> 0;
  const last = n & 0xff;
  return host !== 0 && host !== (~maskOf(s.bits) >>> 0) && last !== 0 && last !== 255;
}

/**
 * The member's `attempt`-th address (0 is its natural one). A pure function of key and subnet:
 * every member computes the same sequence for a given key.
 */
export function candidateAddress(publicKey: Uint8Array, subnet: RoomSubnet, attempt: number): string {
  const size = 2 ** (32 - subnet.bits);
  // Counter-mode hashing: unusable picks (.0, .255, network, broadcast) are skipped, not retried
  // with a different rule, so the sequence stays the same for everyone.
  for (let counter = 0, usable = -1; ; counter++) {
    const h = createHash('sha256').update('wgp2p address v1\0').update(publicKey).update(u32(counter)).digest();
    const n = (subnet.network + (h.readUInt32BE(0) % size)) >>> 0;
    if (isUsableHost(n, subnet) && ++usable === attempt) return intToIpv4(n);
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The first address of the member's sequence that `taken` does not hold. */
export function chooseAddress(publicKey: Uint8Array, subnet: RoomSubnet, taken: (address: string) => boolean, maxAttempts = 256): string {
  for (let i = 0; i < maxAttempts; i++) {
    const a = candidateAddress(publicKey, subnet, i);
    if (!taken(a)) return a;
  }
  throw new Error(`no free address in ${formatSubnet(subnet)} after ${maxAttempts} attempts`);
}

export interface AddressClaim {
  publicKey: Uint8Array;
  address: string;
  /** Since when it holds the address (wall ms), as we credit it (see claimTime). */
  since: number;
}

/**
 * The time we credit a claim with: what the member signed, but never older than when we first saw
 * it claim this address minus the allowed skew. `seenAt` is undefined for claims that were
 * already there when we joined: we have no history to weigh them against.
 */
export function claimTime(announced: number, seenAt: number | undefined): number {
  return seenAt === undefined ? announced : Math.max(announced, seenAt - ADDRESS_CLAIM_SKEW_MS);
}

/**
 * Addresses claimed by two or more members whose claims were all already there when we joined
 * (`seenAt` undefined): we have no history to weigh their signed times against, and one may be
 * backdated. A contest between honest members ends within seconds (the later one moves), so one
 * still there is a fixed --address or an insider's: such an address goes to nobody until it ends.
 */
export function unjudgedClaims(claims: readonly { address: string; seenAt: number | undefined }[]): Set<string> {
  const historic = new Map<string, number>();
  for (const c of claims) if (c.seenAt === undefined) historic.set(c.address, (historic.get(c.address) ?? 0) + 1);
  return new Set([...historic].filter(([, n]) => n > 1).map(([address]) => address));
}

/** A claim to something (an address, a name, a prefix): who, and since when as we credit it. */
export interface Claimant {
  publicKey: Uint8Array;
  since: number;
}

/**
 * Negative when `a`'s claim beats `b`'s: the earlier time, then the lower public key. One order
 * for addresses, names and contested prefixes, so keys (which are free) never beat time held.
 */
export function compareClaims(a: Claimant, b: Claimant): number {
  if (a.since !== b.since) return a.since < b.since ? -1 : 1;
  return Buffer.compare(a.publicKey, b.publicKey);
}

/** The key that owns each claimed address: the earliest claim, then the lowest public key. */
export function claimWinners(claims: readonly AddressClaim[]): Map<string, Buffer> {
  const winners = new Map<string, AddressClaim>();
  for (const c of claims) {
    const held = winners.get(c.address);
    if (!held || compareClaims(c, held) < 0) winners.set(c.address, c);
  }
  return new Map([...winners].map(([address, w]) => [address, Buffer.from(w.publicKey)]));
}
