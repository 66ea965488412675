// SSDP discovery of a UPnP Internet Gateway Device: the M-SEARCH we multicast and a total
// decoder for the unicast answers. Any LAN device can answer, so only an answer whose LOCATION
// is an http URL on the gateway's own address is taken (the caller also checks the sender).
import { parseIPv4 } from './ipv4.js';
import { accept, reject, type Decoded } from './types.js';

export const SSDP_MULTICAST_ADDRESS = '239.255.255.250';
export const SSDP_PORT = 1900;
/** A real answer is a few hundred bytes. */
export const SSDP_MAX_SIZE = 2048;
const SSDP_MX_S = 1;
export const IGD_SEARCH_TARGET = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
const MAX_URL_LENGTH = 512;

export function encodeMSearch(searchTarget = IGD_SEARCH_TARGET): Uint8Array {
  const text = [
    'M-SEARCH * HTTP/1.1',
    `HOST: ${SSDP_MULTICAST_ADDRESS}:${SSDP_PORT}`,
    'MAN: "ssdp:discover"',
    `MX: ${SSDP_MX_S}`,
    `ST: ${searchTarget}`,
    '',
    '',
  ].join('\r\n');
  return new TextEncoder().encode(text);
}

export interface SsdpAnswer {
  /** The description document's URL, on the gateway. */
  readonly location: string;
  readonly searchTarget: string;
}

/**
 * Decodes an M-SEARCH answer: HTTP/1.1 200, headers only, a LOCATION of the form
 * http://GATEWAY[:port]/path where GATEWAY is exactly `gateway`.
 */
export function decodeSsdpAnswer(data: Uint8Array, gateway: string): Decoded<SsdpAnswer> {
  if (data.length > SSDP_MAX_SIZE) return reject('oversized');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return reject('bad-http');
  }
  const lines = text.split('\r\n');
  if (!/^HTTP\/1\.[01] 200( |$)/.test(lines[0] ?? '')) return reject('bad-http');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0) return reject('bad-http');
    const name = line.slice(0, colon).trim().toLowerCase();
    // A repeated LOCATION is ambiguous: refuse rather than pick one.
    if (headers.has(name) && name === 'location') return reject('bad-http');
    headers.set(name, line.slice(colon + 1).trim());
  }
  const location = headers.get('location');
  if (!location) return reject('bad-http');
  if (!isUrlOnHost(location, gateway)) return reject('bad-location');
  return accept({ location, searchTarget: headers.get('st') ?? '' });
}

/** True when `url` is a plain http URL whose host is exactly the IPv4 address `host`. */
export function isUrlOnHost(url: string, host: string): boolean {
  if (url.length > MAX_URL_LENGTH || !parseIPv4(host)) return false;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === 'http:' && u.hostname === host && u.username === '' && u.password === '';
}
