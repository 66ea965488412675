// PCP (RFC 6887) wire format: the MAP request for one UDP port, the ANNOUNCE probe, and a
// total decoder for the server's answers. A PCP reply can come from anything on the LAN, so the
// decoder checks size, version, the response bit, opcode, nonce, protocol, ports, lifetime and
// the external address before anything leaves it as a mapping.
import { randomBytes } from 'node:crypto';
import { formatIPv4, isPublicIPv4, parseIPv4 } from './ipv4.js';
import { accept, reject, type Decoded } from './types.js';
import { GATEWAY_MAX_SIZE, NATPMP_VERSION, PCP_VERSION, RESPONSE_BIT } from './gateway-wire.js';
import { IPPROTO_UDP } from '../../shared/net/ip-protocol.js';

const PCP_OPCODE = { announce: 0, map: 1 } as const;
const HEADER_SIZE = 24;
const MAP_PAYLOAD_SIZE = 36;
export const PCP_MAP_SIZE = HEADER_SIZE + MAP_PAYLOAD_SIZE;
export const PCP_NONCE_SIZE = 12;

export const PCP_RESULT = {
  SUCCESS: 0,
  UNSUPP_VERSION: 1,
  NOT_AUTHORIZED: 2,
  MALFORMED_REQUEST: 3,
  UNSUPP_OPCODE: 4,
  UNSUPP_OPTION: 5,
  MALFORMED_OPTION: 6,
  NETWORK_FAILURE: 7,
  NO_RESOURCES: 8,
  UNSUPP_PROTOCOL: 9,
  USER_EX_QUOTA: 10,
  CANNOT_PROVIDE_EXTERNAL: 11,
  ADDRESS_MISMATCH: 12,
  EXCESSIVE_REMOTE_PEERS: 13,
} as const;

export function newPcpNonce(): Uint8Array {
  return new Uint8Array(randomBytes(PCP_NONCE_SIZE));
}

/** ::ffff:a.b.c.d, PCP's way of carrying an IPv4 address in its 16-byte fields. */
function writeMappedIPv4(buf: Uint8Array, offset: number, address: string): void {
  const b = parseIPv4(address);
  if (!b) throw new TypeError(`pcp: not an IPv4 address: ${address}`);
  buf[offset + 10] = 0xff;
  buf[offset + 11] = 0xff;
  buf.set(b, offset + 12);
}

function isMappedIPv4(buf: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 10; i++) if (buf[offset + i] !== 0) return false;
  return buf[offset + 10] === 0xff && buf[offset + 11] === 0xff;
}

function writeHeader(buf: Uint8Array, opcode: number, lifetimeS: number, clientAddress: string): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf[0] = PCP_VERSION;
  buf[1] = opcode;
  view.setUint32(4, lifetimeS >>> 0);
  writeMappedIPv4(buf, 8, clientAddress);
}

export interface PcpMapRequest {
  readonly nonce: Uint8Array;
  readonly internalPort: number;
  /** 0 asks for deletion. */
  readonly lifetimeS: number;
  /** Our own address as the gateway sees it (PCP refuses a mismatch). */
  readonly clientAddress: string;
  readonly suggestedExternalPort?: number;
  readonly suggestedExternalAddress?: string;
}

export function encodePcpMap(req: PcpMapRequest): Uint8Array {
  if (req.nonce.length !== PCP_NONCE_SIZE) throw new TypeError('pcp: nonce must be 12 bytes');
  const buf = new Uint8Array(PCP_MAP_SIZE);
  const view = new DataView(buf.buffer);
  writeHeader(buf, PCP_OPCODE.map, req.lifetimeS, req.clientAddress);
  buf.set(req.nonce, HEADER_SIZE);
  buf[HEADER_SIZE + 12] = IPPROTO_UDP;
  view.setUint16(HEADER_SIZE + 16, req.internalPort);
  view.setUint16(HEADER_SIZE + 18, req.suggestedExternalPort ?? 0);
  writeMappedIPv4(buf, HEADER_SIZE + 20, req.suggestedExternalAddress ?? '0.0.0.0');
  return buf;
}

/** ANNOUNCE (lifetime 0, no payload): a cheap "do you speak PCP?" for netcheck. */
export function encodePcpAnnounce(clientAddress: string): Uint8Array {
  const buf = new Uint8Array(HEADER_SIZE);
  writeHeader(buf, PCP_OPCODE.announce, 0, clientAddress);
  return buf;
}

/** What a well-formed PCP response says, before opcode-specific checks. */
export interface PcpResponse {
  readonly opcode: number;
  readonly result: number;
  readonly lifetimeS: number;
  readonly epoch: number;
}

export interface PcpMapResponse extends PcpResponse {
  readonly internalPort: number;
  readonly externalPort: number;
  readonly externalAddress: string;
}

/** A NAT-PMP-only server's "unsupported version" answer to our PCP request. */
export interface PcpVersionRefused {
  readonly versionRefused: true;
}

function decodeHeader(data: Uint8Array, opcode: number): Decoded<PcpResponse | PcpVersionRefused> {
  if (data.length > GATEWAY_MAX_SIZE) return reject('oversized');
  if (data.length < 2) return reject('short');
  if (data[0] === NATPMP_VERSION) {
    // RFC 6887 §9: a NAT-PMP server answers with its own version and result 1.
    if (data.length < 4 || data[1] !== (RESPONSE_BIT | opcode)) return reject('bad-version');
    return data[2] === 0 && data[3] === PCP_RESULT.UNSUPP_VERSION ? accept({ versionRefused: true }) : reject('bad-version');
  }
  if (data[0] !== PCP_VERSION) return reject('bad-version');
  if (data.length < HEADER_SIZE || data.length % 4 !== 0) return reject('short');
  if ((data[1]! & RESPONSE_BIT) === 0) return reject('not-response');
  if ((data[1]! & ~RESPONSE_BIT) !== opcode) return reject('bad-opcode');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return accept({ opcode, result: data[3]!, lifetimeS: view.getUint32(4), epoch: view.getUint32(8) });
}

/** Decodes the answer to an ANNOUNCE: any well-formed PCP response proves the server speaks PCP. */
export function decodePcpAnnounce(data: Uint8Array): Decoded<PcpResponse | PcpVersionRefused> {
  return decodeHeader(data, PCP_OPCODE.announce);
}

/**
 * Decodes the answer to `req`. A failure result is a valid answer (the caller reports it); a
 * success must echo our nonce, protocol and port, and grant a sane, public mapping.
 */
export function decodePcpMap(data: Uint8Array, req: PcpMapRequest): Decoded<PcpMapResponse | PcpVersionRefused> {
  const head = decodeHeader(data, PCP_OPCODE.map);
  if (!head.ok) return head;
  if ('versionRefused' in head.value) return accept(head.value);
  if (data.length < PCP_MAP_SIZE) return reject('short');
  const p = HEADER_SIZE;
  for (let i = 0; i < PCP_NONCE_SIZE; i++) if (data[p + i] !== req.nonce[i]) return reject('nonce-mismatch');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const internalPort = view.getUint16(p + 16);
  const externalPort = view.getUint16(p + 18);
  const response: PcpMapResponse = {
    ...head.value,
    internalPort,
    externalPort,
    externalAddress: isMappedIPv4(data, p + 20) ? formatIPv4(data, p + 32) : '',
  };
  if (response.result !== PCP_RESULT.SUCCESS) return accept(response);
  if (data[p + 12] !== IPPROTO_UDP) return reject('bad-protocol');
  if (internalPort !== req.internalPort) return reject('port-mismatch');
  if (req.lifetimeS === 0) return accept(response); // a deletion: nothing more to check
  if (externalPort === 0) return reject('bad-port');
  if (response.lifetimeS === 0) return reject('zero-lifetime');
  if (!response.externalAddress) return reject('bad-address');
  if (!isPublicIPv4(response.externalAddress)) return reject('private-external');
  return accept(response);
}
