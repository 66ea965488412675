// A read from a TUN device with IFF_VNET_HDR: a virtio-net header, then one packet that may be a
// large TCP or UDP segment (TSO/USO) or may still need its checksum (checksum offload). Turned
// here into the MTU-sized, fully checksummed IP packets the engine seals, exactly what the
// kernel would have put on a wire. Pure; never throws: a read it cannot vouch for is dropped
// with a reason to count.
import { finish, pseudoHeaderSum, readU16, readU32, setIpv4HeaderChecksum, sumBytes, writeU16, writeU32 } from './checksum.js';
import { TCP_FLAG, TCP_HEADER, UDP_HEADER, l4Layout, type L4Layout } from './l4-headers.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../../shared/net/ip-protocol.js';
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP_L4,
  VIRTIO_NET_HDR_LEN,
  decodeVirtioNetHdr,
  type VirtioNetHdr,
} from './virtio-net-hdr.js';

/** Why a read was dropped (the kernel should never send these; counted, not thrown). */
export type SegmentDrop =
  | 'vnet_short' // shorter than a virtio-net header
  | 'vnet_gso_type' // a GSO type we never enabled (UFO) or do not know
  | 'vnet_gso_mismatch' // the GSO type does not match the packet (version, protocol, layout)
  | 'vnet_bad_csum' // checksum start/offset outside the packet or not at the TCP/UDP field
  | 'vnet_gso_size'; // a GSO packet with segment size 0

/**
 * Appends the packets of one TUN read (`read` = virtio-net header + packet) to `out`; returns why
 * it was dropped instead, if it was. The packets may share one new buffer, or be a view of `read`.
 */
export function segmentRead(read: Buffer, out: Buffer[]): SegmentDrop | undefined {
  const h = decodeVirtioNetHdr(read);
  if (!h) return 'vnet_short';
  const p = read.subarray(VIRTIO_NET_HDR_LEN);
  if (h.gsoType === VIRTIO_NET_HDR_GSO_NONE) {
    if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      const bad = completeChecksum(p, h);
      if (bad) return bad;
    }
    out.push(p);
    return undefined;
  }
  const tcp = h.gsoType === VIRTIO_NET_HDR_GSO_TCPV4 || h.gsoType === VIRTIO_NET_HDR_GSO_TCPV6;
  if (!tcp && h.gsoType !== VIRTIO_NET_HDR_GSO_UDP_L4) return 'vnet_gso_type';
  const l = l4Layout(p);
  if (!l || l.protocol !== (tcp ? IPPROTO_TCP : IPPROTO_UDP)) return 'vnet_gso_mismatch';
  if (tcp && l.version !== (h.gsoType === VIRTIO_NET_HDR_GSO_TCPV4 ? 4 : 6)) return 'vnet_gso_mismatch';
  if (h.gsoSize === 0) return 'vnet_gso_size';
  if (h.csumStart !== l.l4Offset || h.csumOffset !== (tcp ? TCP_HEADER.checksumOffset : UDP_HEADER.checksumOffset)) return 'vnet_bad_csum';
  cutSegments(p, l, h.gsoSize, tcp, out);
  return undefined;
}

// Checksum offload: the field holds the pseudo-header sum; the sum from csumStart to the end,
// complemented, is the checksum.
function completeChecksum(p: Buffer, h: VirtioNetHdr): SegmentDrop | undefined {
  const at = h.csumStart + h.csumOffset;
  if (h.csumStart >= p.length || at + 2 > p.length) return 'vnet_bad_csum';
  let c = finish(sumBytes(p, h.csumStart, p.length));
  // UDP says "no checksum" with 0, so a computed 0 is sent as its other form.
  if (c === 0 && l4Layout(p)?.protocol === IPPROTO_UDP) c = 0xffff;
  writeU16(p, at, c);
  return undefined;
}

// Cuts p's payload into gsoSize pieces, each behind a copy of p's headers with lengths, IPv4 id,
// TCP sequence number and flags, and checksums set as the kernel's own segmentation sets them.
function cutSegments(p: Buffer, l: L4Layout, gsoSize: number, tcp: boolean, out: Buffer[]): void {
  const hdrLen = l.payloadOffset;
  const payload = p.length - hdrLen;
  const count = Math.max(1, Math.ceil(payload / gsoSize));
  const buf = Buffer.allocUnsafe(count * hdrLen + payload);
  const id0 = l.version === 4 ? readU16(p, 4) : 0;
  const seq0 = tcp ? readU32(p, l.l4Offset + 4) : 0;
  const flags = tcp ? p[l.l4Offset + TCP_HEADER.flagsOffset]! : 0;
  let at = 0;
  for (let i = 0; i < count; i++) {
    const from = hdrLen + i * gsoSize;
    const size = Math.min(gsoSize, payload - i * gsoSize);
    const seg = buf.subarray(at, at + hdrLen + size);
    p.copy(seg, 0, 0, hdrLen);
    p.copy(seg, hdrLen, from, from + size);
    const last = i === count - 1;
    if (l.version === 4) {
      writeU16(seg, 2, seg.length);
      writeU16(seg, 4, (id0 + i) & 0xffff);
      setIpv4HeaderChecksum(seg, 0, l.l4Offset);
    } else {
      writeU16(seg, 4, seg.length - l.l4Offset);
    }
    const l4 = l.l4Offset;
    const l4Length = seg.length - l4;
    if (tcp) {
      writeU32(seg, l4 + 4, (seq0 + i * gsoSize) >>> 0);
      let f = flags;
      if (!last) f &= ~(TCP_FLAG.fin | TCP_FLAG.psh); // only the last segment ends or pushes
      if (i > 0) f &= ~TCP_FLAG.cwr; // reduced once, on the first
      seg[l4 + TCP_HEADER.flagsOffset] = f;
      writeU16(seg, l4 + TCP_HEADER.checksumOffset, 0);
      writeU16(seg, l4 + TCP_HEADER.checksumOffset, finish(sumBytes(seg, l4, seg.length, pseudoHeaderSum(seg, l.addrOffset, l.addrLen, IPPROTO_TCP, l4Length))));
    } else {
      writeU16(seg, l4 + 4, l4Length);
      writeU16(seg, l4 + UDP_HEADER.checksumOffset, 0);
      const c = finish(sumBytes(seg, l4, seg.length, pseudoHeaderSum(seg, l.addrOffset, l.addrLen, IPPROTO_UDP, l4Length)));
      writeU16(seg, l4 + UDP_HEADER.checksumOffset, c === 0 ? 0xffff : c);
    }
    out.push(seg);
    at += seg.length;
  }
}
