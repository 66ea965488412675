// Where the server's STUN service is: the signalling URL's host (resolved once here) and the
// STUN port, which the protocol does not announce (default 3478, `--stun-port` to change).
import { lookup } from 'node:dns/promises';
import { makeEndpoint, type Endpoint } from '../../../shared/net/address.js';
import { parseIp } from '../../../shared/net/ip-bytes.js';

export const DEFAULT_STUN_PORT = 3478;

/** Checks a --server URL: ws:// or wss://, with a host. Throws a message fit for a user. */
export function parseServerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--server "${text}" is not a URL (expected e.g. ws://server.example:8080/ws)`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`--server "${text}": the scheme must be ws:// or wss://`);
  if (!url.hostname) throw new Error(`--server "${text}" has no host`);
  return url;
}

export async function resolveStunServer(serverUrl: string, port: number): Promise<Endpoint> {
  const host = parseServerUrl(serverUrl).hostname.replace(/^\[(.*)\]$/, '$1');
  if (parseIp(host)) return makeEndpoint(host, port);
  const r = await lookup(host, { order: 'ipv4first' });
  return makeEndpoint(r.address, port);
}
