// Where the server's STUN service is: the signalling URL's host (resolved once here) and the
// STUN port, which the protocol does not announce (default 3478, `--stun-port` to change).
import { lookup } from 'node:dns/promises';
import { makeEndpoint, type Endpoint } from '../../../shared/net/address.js';
import { parseIp } from '../../../shared/net/ip-bytes.js';
import { parseServerUrl } from '../../../shared/net/server-url.js';

export const DEFAULT_STUN_PORT = 3478;

const serverHost = (serverUrl: string) => parseServerUrl(serverUrl).hostname.replace(/^\[(.*)\]$/, '$1');

export async function resolveStunServer(serverUrl: string, port: number): Promise<Endpoint> {
  const host = serverHost(serverUrl);
  if (parseIp(host)) return makeEndpoint(host, port);
  const r = await lookup(host, { order: 'ipv4first' });
  return makeEndpoint(r.address, port);
}

/** Every address of the server's host, both families: the WebSocket may use any of them. */
export async function serverAddresses(serverUrl: string): Promise<string[]> {
  const host = serverHost(serverUrl);
  if (parseIp(host)) return [host];
  return (await lookup(host, { all: true })).map((r) => r.address);
}
