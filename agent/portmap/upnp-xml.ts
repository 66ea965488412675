// The few bits of UPnP IGD XML we need, read without an XML parser: the WAN connection
// service's control URL from the device description, SOAP request envelopes, and the values or
// fault code of a SOAP answer. Inputs are size-capped and scanned linearly (indexOf, no
// backtracking patterns), entities are decoded for the five predefined names only, and anything
// surprising is refused.
import { isUrlOnHost } from './ssdp.js';
import { accept, reject, type Decoded } from './types.js';

/** Device descriptions are a few KiB; miniupnpd's is about 4. */
export const UPNP_MAX_DOCUMENT = 64 * 1024;
export const UPNP_MAX_SOAP_RESPONSE = 16 * 1024;
const MAX_VALUE_LENGTH = 256;

/** WAN connection services that offer AddPortMapping, best first. */
export const WAN_SERVICE_TYPES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const;

export interface WanService {
  readonly serviceType: string;
  /** Absolute control URL, on the gateway. */
  readonly controlUrl: string;
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Text content with the predefined entities decoded; undefined for any other `&...;` or markup. */
function textContent(raw: string): string | undefined {
  if (raw.length > MAX_VALUE_LENGTH || raw.includes('<')) return undefined;
  let bad = false;
  const out = raw.replace(/&([a-z]{2,4});|&/g, (_m, name: string | undefined) => {
    const v = name === undefined ? undefined : ENTITIES[name];
    if (v === undefined) bad = true;
    return v ?? '';
  });
  return bad ? undefined : out.trim();
}

/** Contents of every `<tag>…</tag>` (namespace prefix allowed) in `xml`, in order. */
function elements(xml: string, tag: string, limit = 64): string[] {
  const out: string[] = [];
  let from = 0;
  while (out.length < limit) {
    const open = findOpenTag(xml, tag, from);
    if (!open) break;
    if (open.selfClosing) {
      out.push('');
      from = open.end;
      continue;
    }
    const close = xml.indexOf(`</${open.prefix}${tag}>`, open.end);
    if (close < 0) break;
    out.push(xml.slice(open.end, close));
    from = close;
  }
  return out;
}

/** The next `<tag>`, `<p:tag attr…>` or `<tag/>` at or after `from`. */
function findOpenTag(xml: string, tag: string, from: number): { prefix: string; end: number; selfClosing: boolean } | undefined {
  for (let i = xml.indexOf('<', from); i >= 0; i = xml.indexOf('<', i + 1)) {
    const gt = xml.indexOf('>', i);
    if (gt < 0) return undefined;
    const name = xml.slice(i + 1, gt).split(/[\s/]/, 1)[0] ?? '';
    const colon = name.indexOf(':');
    const local = colon >= 0 ? name.slice(colon + 1) : name;
    if (local === tag) return { prefix: colon >= 0 ? name.slice(0, colon + 1) : '', end: gt + 1, selfClosing: xml[gt - 1] === '/' };
  }
  return undefined;
}

function firstText(xml: string, tag: string): string | undefined {
  const e = elements(xml, tag, 1)[0];
  return e === undefined ? undefined : textContent(e);
}

/**
 * The best WAN connection service of a device description fetched from `location`; its
 * control URL (resolved against `location`) must stay on `gateway`.
 */
export function parseDeviceDescription(xml: string, location: string, gateway: string): Decoded<WanService> {
  if (xml.length > UPNP_MAX_DOCUMENT) return reject('oversized');
  const found = new Map<string, string>();
  for (const service of elements(xml, 'service', 256)) {
    const type = firstText(service, 'serviceType');
    const control = firstText(service, 'controlURL');
    if (type && control !== undefined && (WAN_SERVICE_TYPES as readonly string[]).includes(type) && !found.has(type)) found.set(type, control);
  }
  for (const type of WAN_SERVICE_TYPES) {
    const control = found.get(type);
    if (control === undefined) continue;
    let url: string;
    try {
      url = new URL(control, location).toString();
    } catch {
      return reject('bad-location');
    }
    if (!isUrlOnHost(url, gateway)) return reject('bad-location');
    return accept({ serviceType: type, controlUrl: url });
  }
  return reject('bad-document');
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&${Object.entries(ENTITIES).find(([, v]) => v === c)![0]};`);
}

/** A SOAP request: the body and the SOAPAction header value. */
export function soapRequest(serviceType: string, action: string, args: ReadonlyArray<readonly [string, string | number]>): { body: string; soapAction: string } {
  const params = args.map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('');
  const body =
    '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${action} xmlns:u="${escapeXml(serviceType)}">${params}</u:${action}></s:Body></s:Envelope>`;
  return { body, soapAction: `"${serviceType}#${action}"` };
}

/** The answer to a SOAP action: its named values, or the UPnP error code of a fault. */
export type SoapAnswer = { readonly values: ReadonlyMap<string, string> } | { readonly fault: number };

/** Reads `<u:ACTIONResponse>` values (status 200) or a UPnPError code (status 500). */
export function parseSoapResponse(status: number, xml: string, action: string, wanted: readonly string[]): Decoded<SoapAnswer> {
  if (xml.length > UPNP_MAX_SOAP_RESPONSE) return reject('oversized');
  if (status === 500) {
    const code = firstText(xml, 'errorCode');
    const n = code !== undefined && /^\d{1,4}$/.test(code) ? Number(code) : NaN;
    return Number.isNaN(n) ? reject('bad-document') : accept({ fault: n });
  }
  if (status !== 200) return reject('bad-http');
  const response = elements(xml, `${action}Response`, 1)[0];
  if (response === undefined) return reject('bad-document');
  const values = new Map<string, string>();
  for (const name of wanted) {
    const v = firstText(response, name);
    if (v === undefined) return reject('bad-document');
    values.set(name, v);
  }
  return accept({ values });
}
