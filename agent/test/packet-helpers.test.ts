// TAI64N labels, IP header helpers and address/endpoint parsing.
import t from 'tap';
import { compareTai64n, tai64n } from '../wireguard/tai64n.js';
import { declaredLength, destinationOf, sourceOf } from '../wireguard/ip-packet.js';
import { endpointFromRinfo, formatEndpoint, formatPrefix, parseEndpoint, parsePrefix } from '../../shared/net/address.js';

t.test('TAI64N', async (t) => {
  const label = tai64n(Date.UTC(1970, 0, 1, 0, 0, 1, 500));
  t.equal(label.length, 12);
  t.equal(label.toString('hex'), '400000000000000b1dcd6500', '2^62 + 10 + 1 s, then 500,000,000 ns');
  t.ok(compareTai64n(tai64n(1000), tai64n(999)) > 0);
  t.ok(compareTai64n(tai64n(5000), tai64n(5000)) === 0);
  t.ok(compareTai64n(tai64n(1_700_000_000_000), tai64n(1_699_999_999_999)) > 0, 'across a second boundary');
});

t.test('IP header helpers', async (t) => {
  const v4 = Buffer.alloc(28);
  v4[0] = 0x45;
  v4.writeUInt16BE(28, 2);
  t.same(destinationOf(v4), { family: 4, offset: 16 });
  t.same(sourceOf(v4), { family: 4, offset: 12 });
  t.equal(declaredLength(v4), 28);
  v4.writeUInt16BE(10, 2);
  t.equal(declaredLength(v4), undefined, 'an IPv4 length shorter than its header');
  const v6 = Buffer.alloc(48);
  v6[0] = 0x60;
  v6.writeUInt16BE(8, 4);
  t.same(destinationOf(v6), { family: 6, offset: 24 });
  t.equal(declaredLength(v6), 48);
  t.equal(destinationOf(Buffer.alloc(39, 0x60)), undefined, 'short IPv6');
  t.equal(sourceOf(Buffer.from([0x50, 0, 0, 0])), undefined, 'version 5');
  t.equal(destinationOf(Buffer.alloc(0)), undefined);
});

t.test('prefixes and endpoints', async (t) => {
  t.equal(formatPrefix(parsePrefix('10.1.2.3/8')), '10.0.0.0/8');
  t.equal(formatPrefix(parsePrefix('fd00:0:0:0::1/128')), 'fd00::1/128');
  t.equal(formatPrefix(parsePrefix('192.0.2.1')), '192.0.2.1/32');
  for (const bad of ['10.0.0.0/33', '10.0.0/8', 'fd00::/129', '10.0.0.0/-1', 'x/1', '10.0.0.0/08x']) {
    t.throws(() => parsePrefix(bad), /./, bad);
  }
  t.same(parseEndpoint('198.51.100.2:51820'), { address: '198.51.100.2', port: 51820, family: 4 });
  t.same(parseEndpoint('[2001:DB8:0::1]:9'), { address: '2001:db8::1', port: 9, family: 6 });
  t.same(parseEndpoint('[::ffff:192.0.2.1]:9'), { address: '192.0.2.1', port: 9, family: 4 }, 'v4-mapped unmapped');
  t.equal(formatEndpoint(parseEndpoint('[2001:db8::1]:9')), '[2001:db8::1]:9');
  for (const bad of ['nowhere', '1.2.3.4', '1.2.3.4:0', '1.2.3.4:65536', '2001:db8::1:9', 'host:80']) {
    t.throws(() => parseEndpoint(bad), /./, bad);
  }
  t.same(endpointFromRinfo({ address: '::ffff:203.0.113.5', port: 7 }), { address: '203.0.113.5', port: 7, family: 4 });
  t.same(endpointFromRinfo({ address: 'fd00::5', port: 7 }), { address: 'fd00::5', port: 7, family: 6 });
});
