// The default IPv4 gateway, read from /proc/net/route (per network namespace, no `ip` binary
// needed): the only device whose port-mapping answers the mapper believes.
import { readFile } from 'node:fs/promises';
import { formatIPv4 } from './ipv4.js';

export const PROC_NET_ROUTE = '/proc/net/route';
const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;
const HEX32 = /^[0-9A-Fa-f]{8}$/;

export interface DefaultGateway {
  readonly address: string;
  readonly iface: string;
}

/**
 * The default route with the lowest metric in /proc/net/route's text, or undefined. Total:
 * malformed lines are skipped. Addresses there are hex in host (little-endian) byte order.
 */
export function parseProcNetRoute(text: string): DefaultGateway | undefined {
  let best: { gw: DefaultGateway; metric: number } | undefined;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, gateway, flagsHex, , , metricText, mask] = f as [string, string, string, string, string, string, string, string];
    if (!HEX32.test(dest) || !HEX32.test(gateway) || !HEX32.test(mask) || !/^[0-9A-Fa-f]{1,4}$/.test(flagsHex)) continue;
    const flags = parseInt(flagsHex, 16);
    if (parseInt(dest, 16) !== 0 || parseInt(mask, 16) !== 0 || (flags & (RTF_UP | RTF_GATEWAY)) !== (RTF_UP | RTF_GATEWAY)) continue;
    const n = parseInt(gateway, 16);
    if (n === 0) continue;
    const metric = /^\d+$/.test(metricText) ? Number(metricText) : Number.MAX_SAFE_INTEGER;
    const address = formatIPv4([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]);
    if (!best || metric < best.metric) best = { gw: { address, iface }, metric };
  }
  return best?.gw;
}

/** The default gateway of this process's network namespace, or undefined. */
export async function defaultGateway(path = PROC_NET_ROUTE): Promise<DefaultGateway | undefined> {
  try {
    return parseProcNetRoute(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}
