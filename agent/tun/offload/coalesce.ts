// GRO for TUN writes: the packets one UDP wake-up decrypted, where consecutive segments of one
// TCP flow are joined into one large segment behind a virtio-net header, so the kernel runs its
// TCP receive path once for all of them instead of once per packet. The same rules as the
// kernel's own TCP GRO: same flow, same headers but length/checksum/id, next sequence number,
// equal segment sizes (a shorter one or a PSH ends the run), plain ACK segments only, checksums
// verified first (the kernel will not check a joined segment again). Pure; never throws.
import { fold, pseudoHeaderSum, readU16, readU32, setIpv4HeaderChecksum, sumBytes, writeU16 } from './checksum.js';
import { IPV4_HEADER, TCP_FLAG, TCP_HEADER, l4Layout, type L4Layout } from './l4-headers.js';
import { IPPROTO_TCP } from '../../../shared/net/ip-protocol.js';
import { VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_HDR_LEN, encodeVirtioNetHdr } from './virtio-net-hdr.js';

/** What to write: a packet as is (the writer adds a plain header), or a buffer that has one. */
export interface TunWrite {
  data: Buffer;
  /** True when `data` starts with its virtio-net header (a joined segment). */
  hasHeader: boolean;
}

/** IP's largest datagram: a joined segment must still fit its length field. */
const MAX_IP_LENGTH = 65535;
/** Runs open at once: a batch rarely carries more flows, and the scan stays short. */
const MAX_OPEN_RUNS = 8;

interface Run {
  /** Index of the run's place in the output. */
  slot: number;
  first: Buffer;
  layout: L4Layout;
  parts: Buffer[];
  gsoSize: number;
  nextSeq: number;
  /** Bytes of the joined IP packet so far. */
  length: number;
  /** A short or PSH segment ended it. */
  closed: boolean;
}

/** Joins what can be joined in `packets` (in order); returns the writes, in order. */
export function coalesce(packets: readonly Buffer[]): TunWrite[] {
  const out: (TunWrite | Run)[] = [];
  const open: Run[] = [];
  for (const p of packets) {
    const l = joinable(p);
    if (!l) {
      closeFlowOf(p, open);
      out.push({ data: p, hasHeader: false });
      continue;
    }
    const payload = p.length - l.payloadOffset;
    const seq = readU32(p, l.l4Offset + 4);
    const run = open.find((r) => sameFlow(r.first, r.layout, p, l));
    if (run && !run.closed && seq === run.nextSeq && payload <= run.gsoSize && run.length + payload <= MAX_IP_LENGTH && sameHeaders(run.first, p, l)) {
      run.parts.push(p);
      run.nextSeq = (seq + payload) >>> 0;
      run.length += payload;
      if (payload < run.gsoSize || p[l.l4Offset + TCP_HEADER.flagsOffset]! & TCP_FLAG.psh) run.closed = true;
      continue;
    }
    if (run) open.splice(open.indexOf(run), 1); // out of order or different: a new run from here
    const fresh: Run = {
      slot: out.length,
      first: p,
      layout: l,
      parts: [p],
      gsoSize: payload,
      nextSeq: (seq + payload) >>> 0,
      length: p.length,
      closed: (p[l.l4Offset + TCP_HEADER.flagsOffset]! & TCP_FLAG.psh) !== 0,
    };
    out.push(fresh);
    open.push(fresh);
    if (open.length > MAX_OPEN_RUNS) open.shift();
  }
  return out.map((w) => ('slot' in w ? build(w) : w));
}

// A TCP segment that may join a run: plain ACK (PSH allowed), data, IPv4 with DF (so ids need
// not follow each other), and a checksum that verifies.
function joinable(p: Buffer): L4Layout | undefined {
  const l = l4Layout(p);
  if (!l || l.protocol !== IPPROTO_TCP || l.payloadOffset >= p.length) return undefined;
  const flags = p[l.l4Offset + TCP_HEADER.flagsOffset]!;
  if ((flags & ~TCP_FLAG.psh) !== TCP_FLAG.ack) return undefined;
  if (l.version === 4 && (l.l4Offset !== IPV4_HEADER.min || (readU16(p, IPV4_HEADER.fragmentOffset) & IPV4_HEADER.dontFragment) === 0)) return undefined;
  const sum = sumBytes(p, l.l4Offset, p.length, pseudoHeaderSum(p, l.addrOffset, l.addrLen, IPPROTO_TCP, p.length - l.l4Offset));
  return fold(sum) === 0xffff ? l : undefined;
}

// Addresses and ports, with the layouts of two TCP packets.
function sameFlow(a: Buffer, la: L4Layout, b: Buffer, lb: L4Layout): boolean {
  if (la.version !== lb.version) return false;
  if (a.compare(b, lb.addrOffset, lb.addrOffset + 2 * lb.addrLen, la.addrOffset, la.addrOffset + 2 * la.addrLen) !== 0) return false;
  return readU32(a, la.l4Offset) === readU32(b, lb.l4Offset);
}

// A non-joinable packet of a flow (a FIN, an out-of-window ACK) must stay behind what came
// before it: later segments of that flow start a new run after it.
function closeFlowOf(p: Buffer, open: Run[]): void {
  const l = l4Layout(p);
  if (!l || l.protocol !== IPPROTO_TCP) return;
  for (const r of open) if (sameFlow(r.first, r.layout, p, l)) r.closed = true;
}

// Everything but lengths, checksums and sequence numbers equal (same flow already known): IP
// TOS/TTL/flags or v6 class/label/hop limit, TCP header length, ack, flags but PSH, window,
// options.
function sameHeaders(a: Buffer, b: Buffer, l: L4Layout): boolean {
  if (l.version === 4) {
    if (a[1] !== b[1] || a[8] !== b[8] || a[6] !== b[6]) return false;
  } else if (readU32(a, 0) !== readU32(b, 0) || a[7] !== b[7]) {
    return false;
  }
  const t = l.l4Offset;
  if (a[t + 12] !== b[t + 12] || readU32(a, t + 8) !== readU32(b, t + 8)) return false;
  if ((a[t + TCP_HEADER.flagsOffset]! & ~TCP_FLAG.psh) !== (b[t + TCP_HEADER.flagsOffset]! & ~TCP_FLAG.psh) || readU16(a, t + 14) !== readU16(b, t + 14)) return false;
  return a.compare(b, t + 20, l.payloadOffset, t + 20, l.payloadOffset) === 0;
}

function build(run: Run): TunWrite {
  if (run.parts.length === 1) return { data: run.first, hasHeader: false };
  const { layout: l, first } = run;
  const hdrLen = l.payloadOffset;
  const data = Buffer.allocUnsafe(VIRTIO_NET_HDR_LEN + run.length);
  encodeVirtioNetHdr(
    {
      flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
      gsoType: l.version === 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6,
      ecn: false,
      hdrLen,
      gsoSize: run.gsoSize,
      csumStart: l.l4Offset,
      csumOffset: TCP_HEADER.checksumOffset,
    },
    data,
  );
  const p = data.subarray(VIRTIO_NET_HDR_LEN);
  first.copy(p, 0, 0, hdrLen);
  let at = hdrLen;
  for (const part of run.parts) at += part.copy(p, at, hdrLen);
  if (l.version === 4) {
    writeU16(p, 2, p.length);
    setIpv4HeaderChecksum(p, 0, l.l4Offset);
  } else {
    writeU16(p, 4, p.length - l.l4Offset);
  }
  const last = run.parts[run.parts.length - 1]!;
  p[l.l4Offset + TCP_HEADER.flagsOffset] = last[l.l4Offset + TCP_HEADER.flagsOffset]!; // PSH, if the last had it
  // Checksum offload: the field holds the pseudo-header sum, the kernel finishes it.
  writeU16(p, l.l4Offset + TCP_HEADER.checksumOffset, fold(pseudoHeaderSum(p, l.addrOffset, l.addrLen, IPPROTO_TCP, p.length - l.l4Offset)));
  return { data, hasHeader: true };
}

