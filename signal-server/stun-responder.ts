// STUN Binding responder on UDP (RFC 8489), with RFC 5780 behaviour discovery when an alternate
// port is configured: OTHER-ADDRESS, RESPONSE-ORIGIN, and CHANGE-REQUEST "change port" answered
// from the other socket. "Change IP" cannot be honoured by a one-address server, so such requests
// get error 420 listing CHANGE-REQUEST, the answer RFC 5780 asks of a server without the
// alternate it would need.
//
// Unauthenticated UDP answers can be aimed at a forged source, so the cheap checks come first
// (the source's budget, then the size) and an answer is never larger than it must be: the
// RFC 5780 attributes only for requests that carry CHANGE-REQUEST (discovery), and optional
// attributes only while the answer stays within the request's own size (clients pad with PADDING).
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import {
  ATTR_CHANGE_REQUEST,
  ATTR_ERROR_CODE,
  ATTR_MAPPED_ADDRESS,
  ATTR_MESSAGE_INTEGRITY,
  ATTR_NONCE,
  ATTR_OTHER_ADDRESS,
  ATTR_PADDING,
  ATTR_REALM,
  ATTR_RESPONSE_ORIGIN,
  ATTR_SOFTWARE,
  ATTR_UNKNOWN_ATTRIBUTES,
  ATTR_USERNAME,
  ATTR_XOR_MAPPED_ADDRESS,
  BINDING_ERROR,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  CLASS_REQUEST,
  decodeChangeRequest,
  decodeStunMessage,
  encodeAddress,
  encodeErrorCode,
  encodeStunMessage,
  encodeText,
  encodeUnknownAttributes,
  encodeXorAddress,
  isComprehensionRequired,
  isStunMessage,
  messageClass,
  type DecodedStunMessage,
  type StunAddress,
  type StunAttribute,
} from '../shared/stun/index.js';
import { hostGroup } from '../shared/net/address-group.js';
import { parseIp, unmapIpv4 } from '../shared/net/ip-bytes.js';
import type { Logger } from '../shared/log.js';
import type { HostPort } from '../shared/net/host-port.js';
import type { Metrics } from './metrics.js';
import { KeyedRateLimiter } from '../shared/rate-limit.js';

export interface StunResponderOptions {
  host: string;
  port: number;
  /** Second port for RFC 5780; undefined disables behaviour discovery. */
  altPort?: number;
  /** Address clients reach us at, for OTHER-ADDRESS / RESPONSE-ORIGIN (default: `host` unless wildcard). */
  publicIp?: string;
  ratePerIp: number;
  burstPerIp: number;
  metrics: Metrics;
  log: Logger;
}

export interface StunResponderHandle {
  primary: HostPort;
  alternate?: HostPort;
  close(): Promise<void>;
}

const SOFTWARE = 'wgp2p';
/** A Binding request needs < 100 bytes; anything past this is refused before it is decoded. */
export const MAX_STUN_REQUEST_BYTES = 548;
const ATTRIBUTE_HEADER_BYTES = 4;
const FINGERPRINT_BYTES = 8;
const STUN_HEADER_BYTES = 20;
/** UNKNOWN-ATTRIBUTES names at most this many: enough for any honest client. */
const MAX_UNKNOWN_REPORTED = 4;

/** Encoded size of a message with these attributes and a FINGERPRINT. */
function encodedSize(attributes: readonly StunAttribute[]): number {
  return STUN_HEADER_BYTES + FINGERPRINT_BYTES + attributes.reduce((n, a) => n + ATTRIBUTE_HEADER_BYTES + Math.ceil(a.value.length / 4) * 4, 0);
}

/** `required`, then each of `optional` in turn while the whole still fits in `budget` bytes. */
function fit(required: StunAttribute[], optional: StunAttribute[], budget: number): StunAttribute[] {
  const out = [...required];
  for (const a of optional) if (encodedSize([...out, a]) <= budget) out.push(a);
  return out;
}

/** Comprehension-required attributes we understand well enough to ignore (we do no auth). */
const UNDERSTOOD = new Set([ATTR_USERNAME, ATTR_MESSAGE_INTEGRITY, ATTR_REALM, ATTR_NONCE, ATTR_CHANGE_REQUEST, ATTR_PADDING]);

function bind(host: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function toStunAddress(address: string, port: number): StunAddress | undefined {
  const plain = unmapIpv4(address);
  const ip = parseIp(plain);
  return ip ? { family: ip.family, address: plain, port } : undefined;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

export async function startStunResponder(opts: StunResponderOptions): Promise<StunResponderHandle> {
  const { metrics, log } = opts;
  const primary = await bind(opts.host, opts.port);
  let alternate: dgram.Socket | undefined;
  try {
    if (opts.altPort !== undefined) alternate = await bind(opts.host, opts.altPort);
  } catch (err) {
    primary.close();
    throw err;
  }
  const primaryPort = primary.address().port;
  const alternatePort = alternate?.address().port;
  const advertisedIp = opts.publicIp ?? (isWildcard(opts.host) ? undefined : opts.host);
  if (alternate && !advertisedIp) {
    log.warn('STUN alternate port without a known public address: OTHER-ADDRESS omitted; set --stun-public-ip', {});
  }
  const limiter = new KeyedRateLimiter(opts.ratePerIp, opts.burstPerIp);
  const sweep = setInterval(() => limiter.sweep(Date.now()), 10_000);
  sweep.unref();

  const advertised = (port: number | undefined): StunAddress | undefined =>
    advertisedIp !== undefined && port !== undefined ? toStunAddress(advertisedIp, port) : undefined;

  /** Error responses: the reason phrase and SOFTWARE only if they fit the request's size. */
  function errorResponse(req: DecodedStunMessage, code: number, reason: string, unknown: number[], budget: number): Buffer {
    const bare = { type: ATTR_ERROR_CODE, value: encodeErrorCode({ code, reason: '' }) };
    const worded = { type: ATTR_ERROR_CODE, value: encodeErrorCode({ code, reason }) };
    const listed = unknown.length ? [{ type: ATTR_UNKNOWN_ATTRIBUTES, value: encodeUnknownAttributes(unknown.slice(0, MAX_UNKNOWN_REPORTED)) }] : [];
    const errorCode = encodedSize([worded, ...listed]) <= budget ? worded : bare;
    const attributes = fit([errorCode, ...listed], [{ type: ATTR_SOFTWARE, value: encodeText(SOFTWARE) }], budget);
    return encodeStunMessage({ type: BINDING_ERROR, transactionId: req.transactionId, attributes }, { fingerprint: true });
  }

  function handle(arrivedOn: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // Cheapest first: the source's budget (by /64 for IPv6), then the size, then decoding.
    const client = toStunAddress(rinfo.address, rinfo.port);
    if (!client || rinfo.port === 0) return metrics.stunRequests.inc('bad_source');
    if (!limiter.allow(hostGroup(client.address), Date.now())) return metrics.stunRequests.inc('rate_limited');
    if (msg.length > MAX_STUN_REQUEST_BYTES) return metrics.stunRequests.inc('too_large');
    if (!isStunMessage(msg)) {
      metrics.stunRequests.inc('not_stun');
      return;
    }
    const req = decodeStunMessage(msg);
    if (!req) return metrics.stunRequests.inc('malformed');
    if (req.fingerprint === 'invalid') return metrics.stunRequests.inc('bad_fingerprint');
    if (messageClass(req.type) !== CLASS_REQUEST) return metrics.stunRequests.inc('ignored');
    if (req.type !== BINDING_REQUEST) return metrics.stunRequests.inc('unsupported_method');

    const budget = msg.length;
    const reply = (socket: dgram.Socket, bytes: Buffer) => socket.send(bytes, rinfo.port, rinfo.address, () => undefined);
    const unknown = req.attributes.filter((a) => isComprehensionRequired(a.type) && !UNDERSTOOD.has(a.type)).map((a) => a.type);
    const changeValue = req.attributes.find((a) => a.type === ATTR_CHANGE_REQUEST)?.value;
    const change = changeValue ? decodeChangeRequest(changeValue) : undefined;
    if (changeValue && !change) {
      metrics.stunRequests.inc('error_response');
      return reply(arrivedOn, errorResponse(req, 400, 'Bad Request', [], budget));
    }
    if (change?.changeIp || (change?.changePort && !alternate)) unknown.push(ATTR_CHANGE_REQUEST);
    if (unknown.length) {
      metrics.stunRequests.inc('error_response');
      return reply(arrivedOn, errorResponse(req, 420, 'Unknown Attribute', unknown, budget));
    }
    const other = arrivedOn === primary ? alternate : primary;
    const sendFrom = change?.changePort && other ? other : arrivedOn;
    const optional: StunAttribute[] = [];
    // Behaviour discovery is asked for with CHANGE-REQUEST (flags may be clear); others get none.
    if (change) {
      const origin = advertised(sendFrom === primary ? primaryPort : alternatePort);
      if (origin) optional.push({ type: ATTR_RESPONSE_ORIGIN, value: encodeAddress(origin) });
      const otherAddress = alternate ? advertised(arrivedOn === primary ? alternatePort : primaryPort) : undefined;
      if (otherAddress) optional.push({ type: ATTR_OTHER_ADDRESS, value: encodeAddress(otherAddress) });
    }
    optional.push({ type: ATTR_SOFTWARE, value: encodeText(SOFTWARE) }, { type: ATTR_MAPPED_ADDRESS, value: encodeAddress(client) });
    const attributes = fit([{ type: ATTR_XOR_MAPPED_ADDRESS, value: encodeXorAddress(client, req.transactionId) }], optional, budget);
    metrics.stunRequests.inc(sendFrom === arrivedOn ? 'binding' : 'binding_changed_port');
    reply(sendFrom, encodeStunMessage({ type: BINDING_SUCCESS, transactionId: req.transactionId, attributes }, { fingerprint: true }));
  }

  for (const socket of alternate ? [primary, alternate] : [primary]) {
    socket.on('message', (msg, rinfo) => {
      try {
        handle(socket, msg, rinfo);
      } catch (err) {
        // Defensive: a bug here must cost one datagram, not the process.
        metrics.stunRequests.inc('internal_error');
        log.error('STUN handler failed', { error: String(err) });
      }
    });
    socket.on('error', (err) => log.warn('STUN socket error', { error: err.message }));
  }

  const closeSocket = (s: dgram.Socket) => new Promise<void>((resolve) => s.close(() => resolve()));
  return {
    primary: { host: opts.host, port: primaryPort },
    ...(alternatePort !== undefined ? { alternate: { host: opts.host, port: alternatePort } } : {}),
    close: async () => {
      clearInterval(sweep);
      await Promise.all([primary, ...(alternate ? [alternate] : [])].map(closeSocket));
    },
  };
}
