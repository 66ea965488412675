// Values of the STUN attributes this project reads and writes. Decoders return undefined on
// malformed values instead of throwing: every value here may come from the network.
import {
  CHANGE_IP_FLAG,
  CHANGE_PORT_FLAG,
  MAGIC_COOKIE,
} from './constants.js';
import { formatIp, parseIp, type IpFamily } from '../net/ip-bytes.js';

export interface StunAddress {
  family: IpFamily;
  address: string;
  port: number;
}

export interface StunErrorCode {
  code: number;
  reason: string;
}

export interface ChangeRequest {
  changeIp: boolean;
  changePort: boolean;
}

const FAMILY_V4 = 0x01;
const FAMILY_V6 = 0x02;

/** MAPPED-ADDRESS, OTHER-ADDRESS, RESPONSE-ORIGIN: family, port and address in the clear. */
export function encodeAddress(addr: StunAddress): Uint8Array {
  const ip = parseIp(addr.address);
  if (!ip || ip.family !== addr.family) throw new RangeError(`not an ${addr.family} address: ${addr.address}`);
  const out = Buffer.alloc(4 + ip.bytes.length);
  out[1] = ip.family === 'IPv4' ? FAMILY_V4 : FAMILY_V6;
  out.writeUInt16BE(addr.port, 2);
  out.set(ip.bytes, 4);
  return out;
}

export function decodeAddress(value: Uint8Array): StunAddress | undefined {
  if (value.length < 4) return undefined;
  const family = value[1];
  const port = (value[2]! << 8) | value[3]!;
  if (family === FAMILY_V4 && value.length === 8) {
    return { family: 'IPv4', address: formatIp(value.subarray(4, 8)), port };
  }
  if (family === FAMILY_V6 && value.length === 20) {
    return { family: 'IPv6', address: formatIp(value.subarray(4, 20)), port };
  }
  return undefined;
}

/** XOR-MAPPED-ADDRESS hides the address from NATs that rewrite addresses they find in payloads. */
function xorMask(length: number, transactionId: Uint8Array): Uint8Array {
  const mask = Buffer.alloc(length);
  mask.writeUInt32BE(MAGIC_COOKIE, 0);
  if (length === 16) mask.set(transactionId, 4);
  return mask;
}

function xorInPlace(value: Uint8Array, transactionId: Uint8Array): Uint8Array {
  const out = Uint8Array.from(value);
  out[2]! ^= MAGIC_COOKIE >>> 24;
  out[3]! ^= (MAGIC_COOKIE >>> 16) & 0xff;
  const mask = xorMask(out.length - 4, transactionId);
  for (let i = 4; i < out.length; i++) out[i]! ^= mask[i - 4]!;
  return out;
}

export function encodeXorAddress(addr: StunAddress, transactionId: Uint8Array): Uint8Array {
  return xorInPlace(encodeAddress(addr), transactionId);
}

export function decodeXorAddress(value: Uint8Array, transactionId: Uint8Array): StunAddress | undefined {
  if (value.length !== 8 && value.length !== 20) return undefined;
  return decodeAddress(xorInPlace(value, transactionId));
}

/** ERROR-CODE: class (hundreds) and number in the low bits, then a UTF-8 reason phrase. */
export function encodeErrorCode(err: StunErrorCode): Uint8Array {
  const reason = Buffer.from(err.reason, 'utf8');
  const out = Buffer.alloc(4 + reason.length);
  out[2] = Math.floor(err.code / 100) & 0x07;
  out[3] = err.code % 100;
  out.set(reason, 4);
  return out;
}

export function decodeErrorCode(value: Uint8Array): StunErrorCode | undefined {
  if (value.length < 4) return undefined;
  const cls = value[2]! & 0x07;
  const num = value[3]!;
  if (cls < 3 || cls > 6 || num > 99) return undefined;
  return { code: cls * 100 + num, reason: Buffer.from(value.subarray(4)).toString('utf8') };
}

export function encodeChangeRequest(req: ChangeRequest): Uint8Array {
  const out = Buffer.alloc(4);
  out[3] = (req.changeIp ? CHANGE_IP_FLAG : 0) | (req.changePort ? CHANGE_PORT_FLAG : 0);
  return out;
}

export function decodeChangeRequest(value: Uint8Array): ChangeRequest | undefined {
  if (value.length !== 4) return undefined;
  return {
    changeIp: (value[3]! & CHANGE_IP_FLAG) !== 0,
    changePort: (value[3]! & CHANGE_PORT_FLAG) !== 0,
  };
}

/** UNKNOWN-ATTRIBUTES: the 16-bit types a 420 error response could not understand. */
export function encodeUnknownAttributes(types: number[]): Uint8Array {
  const out = Buffer.alloc(types.length * 2);
  types.forEach((t, i) => out.writeUInt16BE(t, i * 2));
  return out;
}

export function decodeUnknownAttributes(value: Uint8Array): number[] | undefined {
  if (value.length % 2 !== 0) return undefined;
  const out: number[] = [];
  for (let i = 0; i < value.length; i += 2) out.push((value[i]! << 8) | value[i + 1]!);
  return out;
}

export function encodeText(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

/** SOFTWARE, USERNAME: UTF-8 text; invalid sequences become U+FFFD rather than an exception. */
export function decodeText(value: Uint8Array): string {
  return Buffer.from(value).toString('utf8');
}
