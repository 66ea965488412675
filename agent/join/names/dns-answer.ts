// One DNS query in, at most one answer out: A (or AAAA) for the members' names inside DOMAIN,
// NXDOMAIN for other names inside it, REFUSED for everything outside (nothing is ever forwarded:
// the room is no open resolver). Decoding never throws: dns-packet can, so it is wrapped here.
import dnsPacket from 'dns-packet';
import { isIPv4, isIPv6 } from 'node:net';
import { normalize, type NameTable } from './name-table.js';

/** Answers are short-lived: a renamed or departed member's name stops resolving within seconds. */
export const DNS_TTL_S = 5;
/** Larger queries are no queries of ours (a question is at most ~270 bytes, plus an OPT record). */
export const MAX_QUERY_BYTES = 512;
const HEADER_BYTES = 12;
/** Header flag bits: query/response, authoritative answer, recursion desired. */
const FLAG = { qr: 0x8000, aa: 0x0400, rd: 0x0100 } as const;

export const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** What became of a query: the counter it goes to. */
export type DnsOutcome = 'answered' | 'nodata' | 'nxdomain' | 'refused' | 'formerr' | 'notimp' | 'dropped';

export interface DnsReply {
  outcome: DnsOutcome;
  /** The response to send; undefined when the packet is dropped without a word. */
  response?: Buffer;
}

/** What dns-packet's decode gives besides its typed fields. */
export type DecodedDns = dnsPacket.Packet & { opcode?: string; rcode?: string; flag_aa?: boolean; flag_rd?: boolean };

/** dns-packet's decode, which throws on garbage, made total. */
export function decodeDns(data: Buffer): DecodedDns | undefined {
  try {
    return dnsPacket.decode(data) as DecodedDns;
  } catch {
    return undefined;
  }
}

function respond(id: number, rd: boolean, rcode: number, questions: dnsPacket.Question[], answers: dnsPacket.Answer[] = []): Buffer {
  return dnsPacket.encode({ type: 'response', id, flags: FLAG.aa | (rd ? FLAG.rd : 0) | rcode, questions, answers });
}

export function answerQuery(data: Buffer, table: NameTable): DnsReply {
  // Too short for a header, too big, or itself a response (answering those makes loops): silence.
  if (data.length < HEADER_BYTES || data.length > MAX_QUERY_BYTES || (data.readUInt16BE(2) & FLAG.qr) !== 0) return { outcome: 'dropped' };
  const id = data.readUInt16BE(0);
  const rd = (data.readUInt16BE(2) & FLAG.rd) !== 0;
  const q = decodeDns(data);
  if (!q || !Array.isArray(q.questions) || q.questions.length !== 1) return { outcome: 'formerr', response: respond(id, rd, RCODE.FORMERR, []) };
  const question = q.questions[0]!;
  if (q.opcode !== 'QUERY') return { outcome: 'notimp', response: respond(id, rd, RCODE.NOTIMP, [question]) };
  if (!table.inDomain(question.name)) return { outcome: 'refused', response: respond(id, rd, RCODE.REFUSED, [question]) };
  if (question.class !== 'IN' && question.class !== 'ANY') return { outcome: 'refused', response: respond(id, rd, RCODE.REFUSED, [question]) };
  const entry = table.lookup(question.name);
  if (!entry) {
    if (isApex(question.name, table)) return { outcome: 'nodata', response: respond(id, rd, RCODE.NOERROR, [question]) };
    return { outcome: 'nxdomain', response: respond(id, rd, RCODE.NXDOMAIN, [question]) };
  }
  const answers: dnsPacket.Answer[] = [];
  const type: string = question.type; // ANY is no RecordType in the typings, yet it comes
  const wantA = type === 'A' || type === 'ANY';
  const wantAaaa = type === 'AAAA' || type === 'ANY';
  if (wantA && isIPv4(entry.address)) answers.push({ type: 'A', name: question.name, class: 'IN', ttl: DNS_TTL_S, data: entry.address });
  if (wantAaaa && isIPv6(entry.address)) answers.push({ type: 'AAAA', name: question.name, class: 'IN', ttl: DNS_TTL_S, data: entry.address });
  return { outcome: answers.length > 0 ? 'answered' : 'nodata', response: respond(id, rd, RCODE.NOERROR, [question], answers) };
}

/** DOMAIN itself exists (it holds the names), so it is NOERROR without records, never NXDOMAIN. */
function isApex(name: string, table: NameTable): boolean {
  return normalize(name) === table.domain;
}
