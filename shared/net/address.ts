// Endpoints (ip:port) and prefixes (ip/bits) as the engine, the config parser and UAPI use them.
// Parsers throw an Error with a message fit for a user; they sit at the edges (files, `wg set`).
import { formatIp, parseIp, unmapIpv4 } from './ip-bytes.js';

export type Family = 4 | 6;

export interface Endpoint {
  /** Canonical text: dotted quad, or RFC 5952 IPv6 (a zone, if any, kept after '%'). */
  address: string;
  port: number;
  family: Family;
}

export interface Prefix {
  family: Family;
  /** Network-order bytes with the host bits cleared (4 or 16 bytes). */
  bytes: Uint8Array;
  bits: number;
}

export interface IpAddress {
  family: Family;
  bytes: Uint8Array;
}

/** Parses a textual IPv4/IPv6 address; throws on anything else. */
export function parseAddress(text: string): IpAddress {
  const ip = parseIp(text);
  if (!ip) throw new Error(`"${text}" is not an IP address`);
  return { family: ip.family === 'IPv4' ? 4 : 6, bytes: ip.bytes };
}

export function maxBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

/** "10.0.0.0/8", "fd00::/64", or a bare address (a host prefix). Host bits are cleared, as `wg` does. */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  const addr = parseAddress(slash < 0 ? text : text.slice(0, slash));
  const max = maxBits(addr.family);
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b) || Number(b) > max) throw new Error(`"${text}": prefix length must be 0..${max}`);
    bits = Number(b);
  }
  return { family: addr.family, bytes: maskBytes(addr.bytes, bits), bits };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.bytes)}/${p.bits}`;
}

/** A copy of `bytes` with every bit past the first `bits` cleared. */
export function maskBytes(bytes: Uint8Array, bits: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = bits - i * 8;
    if (keep >= 8) continue;
    out[i] = keep <= 0 ? 0 : out[i]! & (0xff << (8 - keep));
  }
  return out;
}

/** "1.2.3.4:51820" or "[2001:db8::1]:51820" (numeric only: names are resolved by the caller). */
export function parseEndpoint(text: string): Endpoint {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) throw new Error(`"${text}" is not ip:port (use [addr]:port for IPv6)`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`"${text}": port must be 1..65535`);
  return makeEndpoint(m[1]!, port);
}

/** An endpoint from an address text and a port, canonicalising the text (and unmapping ::ffff:v4). */
export function makeEndpoint(address: string, port: number): Endpoint {
  const zone = address.indexOf('%');
  const bare = unmapIpv4(zone < 0 ? address : address.slice(0, zone));
  const ip = parseAddress(bare);
  const text = formatIp(ip.bytes) + (ip.family === 6 && zone >= 0 ? address.slice(zone) : '');
  return { address: text, port, family: ip.family };
}

export function formatEndpoint(e: Endpoint): string {
  return e.family === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

export function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  return a !== undefined && b !== undefined && a.port === b.port && a.address === b.address;
}

/**
 * The sender of a datagram as node:dgram reports it. Runs once per received packet, so it trusts
 * the kernel's canonical text (inet_ntop) instead of reparsing it; only ::ffff:v4 is unmapped.
 */
export function endpointFromRinfo(rinfo: { address: string; port: number; family?: string }): Endpoint {
  const a = rinfo.address;
  if (a.indexOf(':') < 0) return { address: a, port: rinfo.port, family: 4 };
  if (a.startsWith('::ffff:') && a.indexOf('.') > 0) return { address: a.slice(7), port: rinfo.port, family: 4 };
  return { address: a, port: rinfo.port, family: 6 };
}
