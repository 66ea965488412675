// Host changes (resolv.conf, sysctls, nft tables) recorded in the state directory before they are
// made: undone on exit, and by the next start after a crash; text someone changed since is left.
// The gateway's NAT tables per family.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../shared/log.js';
import { HostChanges, writeFiles } from '../join/host-changes.js';
import { forwardedFamilies, natRuleset } from '../join/routes/gateway.js';

const log = createLogger({ component: 'test', level: 'error' });

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'wgp2p-changes-'));
  const sysctl = join(dir, 'ip_forward');
  writeFileSync(sysctl, '0\n');
  return { dir, sysctl };
}

t.test('a sysctl turned on comes back after a crash, on the next start', async (t) => {
  const { dir, sysctl } = setup();
  const run1 = new HostChanges(dir, 'routing', log);
  const change = HostChanges.fileChange(sysctl, () => '1');
  t.same(change, { kind: 'file', path: sysctl, previous: '0\n', written: '1' });
  run1.record([change]);
  writeFiles([change]);
  writeFileSync(sysctl, '1\n'); // as /proc/sys reads it back
  // run1 is SIGKILLed here: nothing undone. The next start:
  const run2 = new HostChanges(dir, 'routing', log);
  t.ok(run2.restoreLeftover(), 'a leftover found');
  t.equal(readFileSync(sysctl, 'utf8'), '0\n', 'the old value is back');
  t.notOk(existsSync(join(dir, 'routing.json')), 'the record is gone');
  t.notOk(run2.restoreLeftover(), 'and a second start finds nothing');
});

t.test('undone in reverse order; a value someone changed since is left alone', async (t) => {
  const { dir, sysctl } = setup();
  const other = join(dir, 'forwarding6');
  writeFileSync(other, '0');
  const changes = new HostChanges(dir, 'routing', log);
  const made = [HostChanges.fileChange(sysctl, () => '1'), HostChanges.fileChange(other, () => '1')];
  changes.record(made);
  writeFiles(made);
  writeFileSync(other, '2'); // an admin changed it meanwhile
  t.ok(changes.restoreLeftover());
  t.equal(readFileSync(sysctl, 'utf8'), '0\n');
  t.equal(readFileSync(other, 'utf8'), '2', 'not ours any more: left as it is');
});

t.test('a file that was not there is removed; a backup of the older one-file format is read', async (t) => {
  const { dir } = setup();
  const file = join(dir, 'new.conf');
  const changes = new HostChanges(dir, 'dns', log);
  const c = HostChanges.fileChange(file, (previous) => `was ${String(previous)}\n`);
  t.equal(c.written, 'was null\n');
  changes.record([c]);
  writeFiles([c]);
  t.ok(changes.restoreLeftover());
  t.notOk(existsSync(file));
  const resolv = join(dir, 'resolv.conf');
  writeFileSync(resolv, 'ours\n');
  writeFileSync(join(dir, 'dns.json'), JSON.stringify({ path: resolv, previous: 'theirs\n', written: 'ours\n' }));
  t.ok(changes.restoreLeftover());
  t.equal(readFileSync(resolv, 'utf8'), 'theirs\n');
});

t.test('an unreadable record is no leftover', async (t) => {
  const { dir } = setup();
  writeFileSync(join(dir, 'routing.json'), '{not json');
  t.notOk(new HostChanges(dir, 'routing', log).restoreLeftover());
});

const base = { ifname: 'wg-r.0', roomSubnet: '10.147.0.0/16', routes: [] as string[], snatRoutes: false, exitNode: false };

t.test('the NAT tables: per family, only what the flags ask for', async (t) => {
  t.same(forwardedFamilies(base), [], 'no routes, no exit node: nothing forwarded');
  t.equal(natRuleset({ ...base, routes: ['192.168.1.0/24'] }, 4), undefined, 'routes without --snat-routes masquerade nothing');
  const mixed = { ...base, routes: ['192.168.1.0/24', 'fd00:1::/64'], snatRoutes: true, roomSubnet6: 'fd77:7770:2a00::a93:0/112' };
  t.same(forwardedFamilies(mixed), [4, 6]);
  t.match(natRuleset(mixed, 4), /^table ip wgp2p_wg_r_0\ndelete table ip wgp2p_wg_r_0\n[^]*ip saddr 10\.147\.0\.0\/16 ip daddr \{ 192\.168\.1\.0\/24 \} oifname != "wg-r\.0" masquerade/);
  t.match(natRuleset(mixed, 6), /^table ip6 wgp2p_wg_r_0\n[^]*ip6 saddr fd77:7770:2a00::a93:0\/112 ip6 daddr \{ fd00:1::\/64 \} oifname != "wg-r\.0" masquerade/);
  t.notMatch(natRuleset(mixed, 6), /192\.168/, 'each family its own prefixes');
  t.same(forwardedFamilies({ ...base, routes: ['fd00:1::/64'] }), [6], 'IPv6 routes only: IPv6 forwarding only');
  t.same(forwardedFamilies({ ...base, exitNode: true }), [4], 'an exit node forwards IPv4');
  t.same(forwardedFamilies({ ...mixed, routes: [], exitNode: true }), [4], 'only IPv4, also when the room has IPv6 addresses');
  t.match(natRuleset({ ...mixed, exitNode: true }, 4), /ip saddr 10\.147\.0\.0\/16 oifname != "wg-r\.0" masquerade/, 'an exit node masquerades all IPv4 leaving the room');
  t.match(natRuleset({ ...mixed, exitNode: true }, 6), /ip6 daddr \{ fd00:1::\/64 \}/, 'and IPv6 only into its IPv6 routes');
  const exit6 = { ...mixed, routes: [], exitNode: true, exitNode6: true };
  t.same(forwardedFamilies(exit6), [4, 6], 'an exit node that offers IPv6 forwards it');
  t.match(natRuleset(exit6, 6), /ip6 saddr fd77:7770:2a00::a93:0\/112 oifname != "wg-r\.0" masquerade/, 'and masquerades all IPv6 leaving the room');
  t.same(forwardedFamilies({ ...base, exitNode6: true }), [], 'an IPv6 offer alone is no exit node');
});
