// Host changes (resolv.conf, sysctls, nft tables) recorded in the state directory before they are
// made: undone on exit, and by the next start after a crash; text someone changed since is left.
// The gateway's NAT tables per family, and its plan: IPv6 forwarding turned on by us takes the
// uplinks' accept_ra from 1 to 2 first, undone with it.
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../shared/log.js';
import { HostChanges, writeFiles } from '../join/host-changes.js';
import { forwardedFamilies, gatewayPlan, natRuleset } from '../join/routes/gateway.js';

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

/** A fake /proc/sys: `values` by path under it. */
function procSys(values: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'wgp2p-procsys-'));
  for (const [path, v] of Object.entries(values)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), `${v}\n`);
  }
  return root;
}

const HOST = { 'net/ipv4/ip_forward': '0', 'net/ipv6/conf/all/forwarding': '0', 'net/ipv6/conf/eth0/accept_ra': '1', 'net/ipv6/conf/wlan0/accept_ra': '0', 'net/ipv6/conf/eth1/accept_ra': '2' };
const UPLINKS6 = ['eth0', 'wlan0', 'eth1', 'gone0'];

t.test('IPv6 forwarding turned on: the uplinks taking RAs get accept_ra 2 just before it', async (t) => {
  const root = procSys(HOST);
  const files = (o: Parameters<typeof gatewayPlan>[0], at = root) => gatewayPlan(o, at).map(({ change }) => (change.kind === 'file' ? `${change.path.slice(at.length + 1)}=${change.written}` : `nft ${change.family}`));
  const router6 = { ...base, routes: ['192.168.1.0/24', 'fd00:1::/64'], uplinks6: UPLINKS6 };
  t.same(files(router6), ['net/ipv4/ip_forward=1', 'net/ipv6/conf/eth0/accept_ra=2', 'net/ipv6/conf/all/forwarding=1'], 'a subnet router of an IPv6 prefix: eth0 (1) only; wlan0 (0) takes no RAs, eth1 is 2 already, gone0 is gone');
  t.same(files({ ...router6, routes: ['192.168.1.0/24'] }), ['net/ipv4/ip_forward=1'], 'IPv4 routes only: accept_ra stays');
  t.same(files({ ...base, exitNode: true, uplinks6: UPLINKS6 }), ['net/ipv4/ip_forward=1', 'nft ip'], 'an exit node without IPv6 neither');
  const exit6 = { ...base, roomSubnet6: 'fd77:7770:2a00::a93:0/112', exitNode: true, exitNode6: true, uplinks6: UPLINKS6 };
  t.same(files(exit6), ['net/ipv4/ip_forward=1', 'net/ipv6/conf/eth0/accept_ra=2', 'net/ipv6/conf/all/forwarding=1', 'nft ip', 'nft ip6'], 'an exit node offering IPv6: the same rule');
  const forwarding = procSys({ ...HOST, 'net/ipv6/conf/all/forwarding': '1' });
  t.same(files(router6, forwarding), ['net/ipv4/ip_forward=1'], 'IPv6 forwarding someone else turned on: accept_ra is theirs too');
  t.same(files({ ...router6, uplinks6: [] }), ['net/ipv4/ip_forward=1', 'net/ipv6/conf/all/forwarding=1'], 'no IPv6 default route: no uplink to keep');
});

t.test('accept_ra comes back with forwarding: on exit and after a crash', async (t) => {
  const root = procSys(HOST);
  const read = (path: string) => readFileSync(join(root, path), 'utf8').trim();
  const state = mkdtempSync(join(tmpdir(), 'wgp2p-gw-state-'));
  const made = gatewayPlan({ ...base, routes: ['fd00:1::/64'], uplinks6: UPLINKS6 }, root).map((s) => s.change);
  new HostChanges(state, 'routing-changes', log).record(made);
  writeFiles(made);
  t.equal(read('net/ipv6/conf/eth0/accept_ra'), '2');
  t.equal(read('net/ipv6/conf/all/forwarding'), '1');
  // SIGKILLed here; the next start undoes the record first.
  t.ok(new HostChanges(state, 'routing-changes', log).restoreLeftover());
  t.same([read('net/ipv6/conf/all/forwarding'), read('net/ipv6/conf/eth0/accept_ra'), read('net/ipv6/conf/wlan0/accept_ra'), read('net/ipv6/conf/eth1/accept_ra')], ['0', '1', '0', '2'], 'all as they were');
});
