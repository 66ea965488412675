// Where the server's STUN service is: the signalling URL's host (resolved once here) and the
// STUN port, which the protocol does not announce (default 3478, `--stun-port` to change).
import { lookup } from 'node:dns/promises';
import { makeEndpoint, type Endpoint } from '../../../shared/net/address.js';
import { parseIp } from '../../../shared/net/ip-bytes.js';
import { parseServerUrl } from '../../../shared/net/server-url.js';

export const DEFAULT_STUN_PORT = 3478;

export async function resolveStunServer(serverUrl: string, port: number): Promise<Endpoint> {
  const host = parseServerUrl(serverUrl).hostname.replace(/^\[(.*)\]$/, '$1');
  if (parseIp(host)) return makeEndpoint(host, port);
  const r = await lookup(host, { order: 'ipv4first' });
  return makeEndpoint(r.address, port);
}
