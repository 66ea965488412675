// The virtio-net header a TUN device with IFF_VNET_HDR puts before every packet (and expects
// before every write): how the kernel asks us to finish a checksum or cut a large segment, and
// how we hand it a coalesced one. 10 bytes (struct virtio_net_hdr), little-endian fields (legacy
// virtio: the host's order; every Linux target we build for is little-endian).
export const VIRTIO_NET_HDR_LEN = 10;

export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;

export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3; // UFO (IP fragmentation): never enabled by us
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5; // USO
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

export interface VirtioNetHdr {
  flags: number;
  /** GSO type without the ECN bit. */
  gsoType: number;
  ecn: boolean;
  /** Length of the headers to repeat on every segment (IP + TCP/UDP), a hint only. */
  hdrLen: number;
  /** Payload bytes per segment. */
  gsoSize: number;
  /** Where the checksum range starts, and where in it the checksum field sits. */
  csumStart: number;
  csumOffset: number;
}

/** Reads the header at the start of `p`; undefined when `p` is too short to hold one. */
export function decodeVirtioNetHdr(p: Uint8Array): VirtioNetHdr | undefined {
  if (p.length < VIRTIO_NET_HDR_LEN) return undefined;
  const u16 = (at: number) => p[at]! | (p[at + 1]! << 8);
  return {
    flags: p[0]!,
    gsoType: p[1]! & ~VIRTIO_NET_HDR_GSO_ECN,
    ecn: (p[1]! & VIRTIO_NET_HDR_GSO_ECN) !== 0,
    hdrLen: u16(2),
    gsoSize: u16(4),
    csumStart: u16(6),
    csumOffset: u16(8),
  };
}

/** Writes `h` into out[at, at + 10). */
export function encodeVirtioNetHdr(h: VirtioNetHdr, out: Uint8Array, at = 0): void {
  const u16 = (o: number, v: number) => {
    out[at + o] = v & 0xff;
    out[at + o + 1] = (v >> 8) & 0xff;
  };
  out[at] = h.flags;
  out[at + 1] = h.gsoType | (h.ecn ? VIRTIO_NET_HDR_GSO_ECN : 0);
  u16(2, h.hdrLen);
  u16(4, h.gsoSize);
  u16(6, h.csumStart);
  u16(8, h.csumOffset);
}

/** The header of a plain packet: nothing to do for the kernel. */
export const PLAIN_HDR: Readonly<VirtioNetHdr> = Object.freeze({ flags: 0, gsoType: VIRTIO_NET_HDR_GSO_NONE, ecn: false, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
