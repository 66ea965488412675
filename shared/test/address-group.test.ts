// The one grouping of client addresses behind every per-address limit.
import t from 'tap';
import { hostGroup, subnetGroup } from '../net/address-group.js';

t.test('an IPv4 address is its own host; its /24 is its subnet', async (t) => {
  t.equal(hostGroup('198.51.100.7'), '198.51.100.7/32');
  t.not(hostGroup('198.51.100.7'), hostGroup('198.51.100.8'));
  t.equal(subnetGroup('198.51.100.7'), subnetGroup('198.51.100.250'));
  t.not(subnetGroup('198.51.100.7'), subnetGroup('198.51.101.7'));
  t.equal(hostGroup('::ffff:198.51.100.7'), hostGroup('198.51.100.7'), 'IPv4-mapped is IPv4');
});

t.test('an IPv6 /64 is one host; its /56 is its subnet', async (t) => {
  t.equal(hostGroup('2001:db8:1:2::1'), hostGroup('2001:db8:1:2:ffff:ffff:ffff:ffff'), 'rotating inside a /64 does not help');
  t.not(hostGroup('2001:db8:1:2::1'), hostGroup('2001:db8:1:3::1'));
  t.equal(subnetGroup('2001:db8:1:2::1'), subnetGroup('2001:db8:1:ff::1'), 'the 256 /64s of a /56 share');
  t.not(subnetGroup('2001:db8:1:100::1'), subnetGroup('2001:db8:1:200::1'));
  t.equal(hostGroup('2001:db8:1:2::1'), '2001:db8:1:2::/64');
});
