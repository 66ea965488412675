// The room's DNS service inside the agent: queries from the sockets (dns-port.ts) go through a
// per-source rate limit and the answerer (dns-answer.ts) against a name table rebuilt from the
// members (at most once a second). Every outcome is counted (dns_queries, dns_refused, ...).
// TCP is DNS's length-prefixed framing, a few queries per connection with bounded sizes.
import { KeyedRateLimiter, TokenBucket } from '../../../shared/rate-limit.js';
import { answerQuery, MAX_QUERY_BYTES, type DnsOutcome } from './dns-answer.js';
import { NameTable, type NamedMember } from './name-table.js';

/** Per source address: enough for a resolver's bursts (A+AAAA, search lists), not for a flood. */
export const DNS_PER_SOURCE_PER_S = 20;
export const DNS_PER_SOURCE_BURST = 40;
/** For all sources together: spoofed sources cannot buy more than this. */
export const DNS_GLOBAL_PER_S = 500;
const DNS_RATE_KEYS = 4096;
const TABLE_MAX_AGE_MS = 1_000;
/** Queries one TCP connection may ask before it is closed. */
export const TCP_QUERIES_PER_CONNECTION = 4;
const LENGTH_BYTES = 2;

export interface DnsServiceContext {
  domain: string;
  /** Every member of the room, ourselves included. */
  members(): NamedMember[];
  now(): number;
  count(what: string): void;
}

export class DnsService {
  private table: NameTable | undefined;
  private builtAt = -Infinity;
  private readonly perSource: KeyedRateLimiter;
  private readonly global: TokenBucket;

  constructor(private readonly c: DnsServiceContext) {
    this.perSource = new KeyedRateLimiter(DNS_PER_SOURCE_PER_S, DNS_PER_SOURCE_BURST, DNS_RATE_KEYS, c.now());
    this.global = new TokenBucket(DNS_GLOBAL_PER_S, DNS_GLOBAL_PER_S, c.now());
  }

  /** The names as of now (members change: rebuilt when older than a second or after invalidate()). */
  names(): NameTable {
    const now = this.c.now();
    if (!this.table || now - this.builtAt >= TABLE_MAX_AGE_MS) {
      this.table = new NameTable(this.c.domain, this.c.members());
      this.builtAt = now;
      this.perSource.sweep(now);
    }
    return this.table;
  }

  /** Members changed: the next query sees them. */
  invalidate(): void {
    this.table = undefined;
  }

  /** One query from `source` (its address); the response to send, if any. */
  query(data: Buffer, source: string): Buffer | undefined {
    const now = this.c.now();
    this.c.count('dns_queries');
    if (!this.perSource.allow(source, now) || !this.global.take(now)) {
      this.c.count('dns_rate_limited');
      this.c.count('dns_dropped');
      return undefined;
    }
    const reply = answerQuery(data, this.names());
    this.c.count(OUTCOME_COUNTER[reply.outcome]);
    return reply.response;
  }

  /** A TCP connection's framing: feed it bytes, get responses; `closed` once it must end. */
  tcpSession(source: string): TcpSession {
    return new TcpSession((q) => this.query(q, source), () => this.c.count('dns_dropped'));
  }
}

const OUTCOME_COUNTER: Record<DnsOutcome, string> = {
  answered: 'dns_answered',
  nodata: 'dns_answered',
  nxdomain: 'dns_nxdomain',
  refused: 'dns_refused',
  formerr: 'dns_formerr',
  notimp: 'dns_formerr',
  dropped: 'dns_dropped',
};

/** RFC 1035 4.2.2 framing: a 2-byte length, then the message. Bounded: a few queries, each small. */
export class TcpSession {
  private buffered = Buffer.alloc(0);
  private asked = 0;
  closed = false;

  constructor(
    private readonly ask: (query: Buffer) => Buffer | undefined,
    private readonly oversized: () => void,
  ) {}

  /** The framed responses to write; sets `closed` when the connection must end. */
  feed(chunk: Buffer): Buffer[] {
    if (this.closed) return [];
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const out: Buffer[] = [];
    while (this.buffered.length >= LENGTH_BYTES) {
      const length = this.buffered.readUInt16BE(0);
      if (length > MAX_QUERY_BYTES) {
        this.oversized();
        this.closed = true;
        return out;
      }
      if (this.buffered.length < LENGTH_BYTES + length) break;
      const query = this.buffered.subarray(LENGTH_BYTES, LENGTH_BYTES + length);
      this.buffered = this.buffered.subarray(LENGTH_BYTES + length);
      const response = this.ask(query);
      if (response) {
        const framed = Buffer.alloc(LENGTH_BYTES + response.length);
        framed.writeUInt16BE(response.length, 0);
        response.copy(framed, LENGTH_BYTES);
        out.push(framed);
      }
      if (++this.asked >= TCP_QUERIES_PER_CONNECTION) {
        this.closed = true;
        break;
      }
    }
    return out;
  }
}
