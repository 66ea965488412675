// Names: member names as DNS labels with one clash rule, the answerer (A, NXDOMAIN, REFUSED,
// FORMERR, drops), the service's rate limit and counters, and TCP framing.
import t from 'tap';
import dnsPacket from 'dns-packet';
import { assignLabels, dnsLabel, domainForRoom, NameTable, parseDnsDomain } from '../join/names/name-table.js';
import { answerQuery, decodeDns, type DecodedDns, DNS_TTL_S, MAX_QUERY_BYTES } from '../join/names/dns-answer.js';
import { DNS_PER_SOURCE_BURST, DnsService, TCP_QUERIES_PER_CONNECTION } from '../join/names/dns-service.js';

const alice = { key: 'AAAA', name: 'alice', address: '10.147.0.2', since: 100 };
const bob = { key: 'BBBB', name: 'Bob', address: '10.147.0.3', since: 100 };
const bob2 = { key: 'CCCC', name: 'bob', address: '10.147.0.4', since: 100 };

function query(name: string, type = 'A', id = 7): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as dnsPacket.RecordType, name, class: 'IN' }] });
}

function decoded(b: Buffer | undefined): DecodedDns {
  const p = b && decodeDns(b);
  if (!p) throw new Error('no response');
  return p;
}

t.test('member names become valid DNS labels, deterministically', async (t) => {
  t.equal(dnsLabel('Alice'), 'alice');
  t.equal(dnsLabel('web_1.prod'), 'web-1-prod');
  t.equal(dnsLabel('a--b__'), 'a-b');
  t.equal(dnsLabel('___'), 'member');
  t.equal(dnsLabel('x'.repeat(63)), 'x'.repeat(63));
  t.equal(domainForRoom('Office'), 'office');
  t.equal(domainForRoom('my_room.corp'), 'my-room.corp');
  t.equal(parseDnsDomain('Corp.Example.'), 'corp.example');
  t.throws(() => parseDnsDomain('bad..domain'));
  t.throws(() => parseDnsDomain('-x'));
});

t.test('a clash at equal claim times: the lowest key keeps the name, the same in any order', async (t) => {
  const a = assignLabels([bob2, alice, bob]);
  const b = assignLabels([bob, bob2, alice]);
  t.same(a, b);
  t.same(a.map((e) => [e.key, e.label]), [['AAAA', 'alice'], ['BBBB', 'bob'], ['CCCC', 'bob-2']]);
  // A suffix never takes a name a member chose itself.
  const c = assignLabels([{ key: 'DDDD', name: 'bob-2', address: '10.147.0.9', since: 100 }, bob, bob2]);
  t.same(c.map((e) => e.label).sort(), ['bob', 'bob-2', 'bob-3']);
  t.equal(c.find((e) => e.key === 'DDDD')!.label, 'bob-2');
  // Long names stay one label with their suffix.
  const long = assignLabels([{ key: 'AAAA', name: 'y'.repeat(63), address: '1', since: 100 }, { key: 'BBBB', name: 'y'.repeat(63), address: '2', since: 100 }]);
  t.equal(long[1]!.label, 'y'.repeat(61) + '-2');
});

t.test('a clash: the earlier claim keeps the name against any lower key', async (t) => {
  const holder = { ...bob2, since: 100 };
  const grinder = { ...bob, key: 'AAAA', since: 101 };
  for (const order of [[holder, grinder], [grinder, holder]]) {
    const labels = new Map(assignLabels(order).map((e) => [e.key, e.label]));
    t.equal(labels.get('CCCC'), 'bob', 'the earlier claim keeps "bob"');
    t.equal(labels.get('AAAA'), 'bob-2', 'the lower key comes second');
  }
});

t.test('the table looks names up case-insensitively', async (t) => {
  const table = new NameTable('office', [alice, bob, bob2]);
  t.equal(table.lookup('ALICE.Office.')?.key, 'AAAA');
  t.equal(table.lookup('bob-2.office')?.key, 'CCCC');
  t.equal(table.lookup('bob'), undefined);
  t.equal(table.lookup('bob', true)?.key, 'BBBB');
  t.equal(table.fqdn('CCCC'), 'bob-2.office');
  t.ok(table.inDomain('x.y.office'));
  t.notOk(table.inDomain('notoffice'));
});

t.test('the answerer', async (t) => {
  const table = new NameTable('office', [alice, bob]);
  const a = answerQuery(query('Alice.office', 'A', 4242), table);
  t.equal(a.outcome, 'answered');
  const p = decoded(a.response);
  t.equal(p.id, 4242);
  t.equal(p.rcode, 'NOERROR');
  t.ok(p.flag_aa, 'authoritative');
  t.ok(p.flag_rd, 'RD copied');
  t.same(p.answers?.map((r) => [r.type, 'data' in r ? r.data : undefined, 'ttl' in r ? r.ttl : undefined]), [['A', '10.147.0.2', DNS_TTL_S]]);

  const any = decoded(answerQuery(query('bob.office', 'ANY'), table).response);
  t.same(any.answers?.map((r) => r.type), ['A']);
  const aaaa = answerQuery(query('bob.office', 'AAAA'), table);
  t.equal(aaaa.outcome, 'nodata', 'an IPv4 room has no AAAA: NOERROR, no records');
  t.equal(decoded(aaaa.response).answers?.length, 0);
  const v6 = new NameTable('office', [{ key: 'K', name: 'six', address: 'fd00::6', since: 100 }]);
  t.same(decoded(answerQuery(query('six.office', 'AAAA'), v6).response).answers?.map((r) => ('data' in r ? r.data : '')), ['fd00::6']);

  const nx = answerQuery(query('carol.office'), table);
  t.equal(nx.outcome, 'nxdomain');
  t.equal(decoded(nx.response).rcode, 'NXDOMAIN');
  t.equal(decoded(answerQuery(query('office', 'SOA'), table).response).rcode, 'NOERROR', 'the domain itself exists');

  const out = answerQuery(query('example.com'), table);
  t.equal(out.outcome, 'refused');
  t.equal(decoded(out.response).rcode, 'REFUSED');
  t.equal(decoded(out.response).answers?.length, 0, 'never forwarded, never answered');
});

t.test('garbage is dropped or FORMERR, never a throw', async (t) => {
  const table = new NameTable('office', [alice]);
  t.equal(answerQuery(Buffer.alloc(5), table).outcome, 'dropped');
  t.equal(answerQuery(Buffer.alloc(MAX_QUERY_BYTES + 1), table).outcome, 'dropped');
  const response = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'alice.office' }] });
  t.equal(answerQuery(response, table).outcome, 'dropped', 'responses are not answered (no loops)');
  const truncated = query('alice.office').subarray(0, 20);
  const r = answerQuery(truncated, table);
  t.equal(r.outcome, 'formerr');
  t.equal(decoded(r.response).rcode, 'FORMERR');
  const two = dnsPacket.encode({ type: 'query', id: 3, questions: [{ type: 'A', name: 'a.office' }, { type: 'A', name: 'b.office' }] });
  t.equal(answerQuery(two, table).outcome, 'formerr');
  t.equal(decodeDns(Buffer.from('\xff'.repeat(40), 'latin1')), undefined);
  for (let i = 0; i < 2000; i++) {
    const junk = Buffer.from(Array.from({ length: 12 + (i % 80) }, (_, j) => (i * 31 + j * 17) & 0xff));
    junk[2] = junk[2]! & 0x7f;
    t.doesNotThrow(() => answerQuery(junk, table));
  }
});

function service(members = [alice, bob]) {
  const counters = new Map<string, number>();
  let now = 1000;
  let list = members;
  const s = new DnsService({ domain: 'office', members: () => list, now: () => now, count: (w) => counters.set(w, (counters.get(w) ?? 0) + 1) });
  return { s, counters, tick: (ms: number) => (now += ms), set: (m: typeof members) => (list = m) };
}

t.test('a flood from one source is dropped and counted; others still resolve', async (t) => {
  const { s, counters } = service();
  let answered = 0;
  for (let i = 0; i < 1000; i++) if (s.query(query('alice.office'), '10.147.0.9')) answered++;
  t.equal(answered, DNS_PER_SOURCE_BURST);
  t.equal(counters.get('dns_rate_limited'), 1000 - DNS_PER_SOURCE_BURST);
  t.equal(counters.get('dns_queries'), 1000);
  t.ok(s.query(query('alice.office'), '10.147.0.3'), 'another member still gets answers');
  t.equal(counters.get('dns_answered'), DNS_PER_SOURCE_BURST + 1);
});

t.test('a departed or renamed member stops resolving once the table is rebuilt', async (t) => {
  const { s, tick, set } = service();
  t.equal(decoded(s.query(query('bob.office'), 'x')).rcode, 'NOERROR');
  set([alice, { ...bob, name: 'robert' }]);
  s.invalidate();
  t.equal(decoded(s.query(query('bob.office'), 'x')).rcode, 'NXDOMAIN');
  t.equal(decoded(s.query(query('robert.office'), 'x')).answers?.length, 1);
  set([alice]);
  t.equal(decoded(s.query(query('robert.office'), 'x')).rcode, 'NOERROR', 'cached for at most a second');
  tick(1000);
  t.equal(decoded(s.query(query('robert.office'), 'x')).rcode, 'NXDOMAIN');
});

t.test('TCP: length-prefixed, split anywhere, a few queries, bounded sizes', async (t) => {
  const { s, counters } = service();
  const framed = (q: Buffer) => Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
  const session = s.tcpSession('10.147.0.3');
  const one = framed(query('alice.office'));
  t.same(session.feed(one.subarray(0, 1)), []);
  const out = session.feed(Buffer.concat([one.subarray(1), framed(query('bob.office'))]));
  t.equal(out.length, 2);
  t.equal(out[0]!.readUInt16BE(0), out[0]!.length - 2);
  t.equal(decoded(out[1]!.subarray(2)).answers?.length, 1);
  const many = Buffer.concat(Array.from({ length: 10 }, () => framed(query('alice.office'))));
  const s2 = s.tcpSession('10.147.0.4');
  t.equal(s2.feed(many).length, TCP_QUERIES_PER_CONNECTION);
  t.ok(s2.closed);
  const s3 = s.tcpSession('10.147.0.5');
  t.same(s3.feed(Buffer.from([0xff, 0xff, 1, 2, 3])), []);
  t.ok(s3.closed, 'an oversized length ends the connection');
  t.ok((counters.get('dns_dropped') ?? 0) >= 1);
});
