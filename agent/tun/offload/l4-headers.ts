// Where the IP and TCP/UDP headers of a packet sit, for the offload code: just enough parsing to
// cut or join segments. Never throws: anything it cannot vouch for comes back undefined.
import { readU16 } from './checksum.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../../shared/net/ip-protocol.js';

/** Where each header's fields sit, and its smallest (TCP) or only (UDP) size. */
export const TCP_HEADER = { min: 20, flagsOffset: 13, checksumOffset: 16 } as const;
export const UDP_HEADER = { size: 8, checksumOffset: 6 } as const;
export const TCP_FLAG = { fin: 0x01, psh: 0x08, ack: 0x10, cwr: 0x80 } as const;
/** IPv4's smallest header, and its flags-and-fragment-offset word: DF, and MF plus the offset. */
export const IPV4_HEADER = { min: 20, fragmentOffset: 6, dontFragment: 0x4000, fragmented: 0x3fff } as const;
const IPV6_HEADER = 40;

export interface L4Layout {
  version: 4 | 6;
  /** IP header length: where the TCP/UDP header starts. */
  l4Offset: number;
  protocol: number;
  /** Source address offset and length (the destination follows it). */
  addrOffset: number;
  addrLen: 4 | 16;
  /** Where the TCP/UDP payload starts (after options, for TCP). */
  payloadOffset: number;
}

/**
 * The layout of a TCP or UDP packet in p[0, p.length): IPv4 (options allowed, unfragmented) or
 * IPv6 without extension headers, its length field agreeing with the buffer, a whole TCP/UDP
 * header. Anything else is undefined.
 */
export function l4Layout(p: Uint8Array): L4Layout | undefined {
  if (p.length < IPV4_HEADER.min) return undefined;
  const v = p[0]! >> 4;
  let l4Offset: number;
  let protocol: number;
  if (v === 4) {
    l4Offset = (p[0]! & 0x0f) * 4;
    if (l4Offset < IPV4_HEADER.min || readU16(p, 2) !== p.length) return undefined;
    if ((readU16(p, IPV4_HEADER.fragmentOffset) & IPV4_HEADER.fragmented) !== 0) return undefined; // a fragment
    protocol = p[9]!;
  } else if (v === 6) {
    if (p.length < IPV6_HEADER || readU16(p, 4) + IPV6_HEADER !== p.length) return undefined;
    l4Offset = IPV6_HEADER;
    protocol = p[6]!;
  } else {
    return undefined;
  }
  let payloadOffset: number;
  if (protocol === IPPROTO_TCP) {
    if (p.length < l4Offset + TCP_HEADER.min) return undefined;
    const doff = (p[l4Offset + 12]! >> 4) * 4;
    if (doff < TCP_HEADER.min) return undefined;
    payloadOffset = l4Offset + doff;
  } else if (protocol === IPPROTO_UDP) {
    payloadOffset = l4Offset + UDP_HEADER.size;
  } else {
    return undefined;
  }
  if (payloadOffset > p.length) return undefined;
  return v === 4
    ? { version: 4, l4Offset, protocol, addrOffset: 12, addrLen: 4, payloadOffset }
    : { version: 6, l4Offset, protocol, addrOffset: 8, addrLen: 16, payloadOffset };
}
