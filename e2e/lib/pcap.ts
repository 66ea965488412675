// Reads UDP payloads out of a classic pcap file written by `tcpdump -w` on an Ethernet (veth)
// link: enough to replay captured WireGuard messages in hostile-input tests.
import { readFile } from 'node:fs/promises';

export interface CapturedDatagram {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

export async function readUdpFromPcap(file: string): Promise<CapturedDatagram[]> {
  const b = await readFile(file);
  if (b.length < 24) throw new Error(`${file}: not a pcap file (${b.length} bytes)`);
  const magic = b.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`${file}: unsupported pcap magic ${magic.toString(16)}`);
  if (b.readUInt32LE(20) !== 1) throw new Error(`${file}: link type ${b.readUInt32LE(20)} is not Ethernet`);
  const out: CapturedDatagram[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const caplen = b.readUInt32LE(off + 8);
    const frame = b.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    if (frame.length < 14 + 20 + 8 || frame.readUInt16BE(12) !== 0x0800) continue; // IPv4 only
    const ip = frame.subarray(14);
    const ihl = (ip[0]! & 0x0f) * 4;
    if (ip[9] !== 17) continue;
    const udp = ip.subarray(ihl);
    const len = udp.readUInt16BE(4);
    out.push({
      src: ip.subarray(12, 16).join('.'),
      dst: ip.subarray(16, 20).join('.'),
      srcPort: udp.readUInt16BE(0),
      dstPort: udp.readUInt16BE(2),
      payload: Buffer.from(udp.subarray(8, len)),
    });
  }
  return out;
}

/**
 * The datagrams a captured UDP payload carries. A sender using UDP GSO (UDP_SEGMENT) hands the
 * kernel one buffer of equal-size segments (the last may be shorter); across veth links it stays
 * whole, so a capture can show it as one datagram although the receiving socket gets several.
 * Returns the split at the smallest segment size for which every segment passes `whole`, or the
 * payload alone when it passes as it is or no split does.
 */
export function gsoSegments(payload: Buffer, whole: (d: Buffer) => boolean): Buffer[] {
  if (whole(payload)) return [payload];
  for (let size = 1; size < payload.length; size++) {
    const parts: Buffer[] = [];
    for (let o = 0; o < payload.length; o += size) parts.push(payload.subarray(o, o + size));
    if (parts.every(whole)) return parts;
  }
  return [payload];
}
