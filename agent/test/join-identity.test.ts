// The identity on disk, the room secret's sources, and which host addresses become candidates.
import t from 'tap';
import { chownSync, mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateIdentity } from '../join/identity/identity.js';
import { generateSecret, resolveSecret } from '../join/room/secret.js';
import { hostCandidates } from '../join/nat/candidates.js';
import type { NetworkInterfaceInfo } from 'node:os';

const tmp = () => mkdtempSync(join(tmpdir(), 'wgp2p-join-id-'));

t.test('the private key is generated once, kept 0600, and read back', async (t) => {
  const dir = join(tmp(), 'state');
  const first = loadOrCreateIdentity(dir);
  t.ok(first.created);
  t.equal(statSync(first.keyFile).mode & 0o777, 0o600, 'key file 0600');
  t.equal(statSync(dir).mode & 0o777, 0o700, 'state dir 0700');
  t.match(readFileSync(first.keyFile, 'utf8'), /^[A-Za-z0-9+/]{43}=\n$/);
  const again = loadOrCreateIdentity(dir);
  t.notOk(again.created);
  t.ok(again.privateKey.equals(first.privateKey) && again.publicKey.equals(first.publicKey), 'same identity on the next start');
});

t.test('a loose key file is tightened; a broken one or an unusable directory is a clear error', async (t) => {
  const dir = tmp();
  const id = loadOrCreateIdentity(dir);
  chmodSync(id.keyFile, 0o644);
  const warnings: string[] = [];
  loadOrCreateIdentity(dir, (w) => warnings.push(w));
  t.match(warnings[0], /readable by others/);
  t.equal(statSync(id.keyFile).mode & 0o777, 0o600);
  writeFileSync(id.keyFile, 'not a key\n');
  t.throws(() => loadOrCreateIdentity(dir), /not a valid WireGuard key.*move the file away/);
  const file = join(tmp(), 'plain-file');
  writeFileSync(file, 'x');
  t.throws(() => loadOrCreateIdentity(join(file, 'sub')), /cannot create state directory .*plain-file\/sub/);
  t.throws(() => loadOrCreateIdentity('/proc/wgp2p-cannot-exist'), /cannot create state directory \/proc\/wgp2p-cannot-exist/);
});

t.test('the room secret: flag, file, environment, or a clear error', async (t) => {
  const f = join(tmp(), 'secret');
  writeFileSync(f, 'from-a-file-from-a-file\n');
  t.equal(resolveSecret({ flag: 'from-the-flag-xxxxxx', env: 'env' }).secret, 'from-the-flag-xxxxxx');
  t.strictSame(resolveSecret({ file: f, env: 'env' }), { secret: 'from-a-file-from-a-file', source: `--secret-file ${f}`, weak: false }, 'one trailing newline dropped');
  t.equal(resolveSecret({ env: 'from-the-environment' }).source, 'WGP2P_SECRET');
  t.ok(resolveSecret({ flag: 'short' }).weak, 'a short secret is flagged weak');
  t.throws(() => resolveSecret({}), /no room secret.*wgp2p secret/);
  t.throws(() => resolveSecret({ env: '' }), /no room secret/);
  t.throws(() => resolveSecret({ flag: '' }), /is empty/);
  t.throws(() => resolveSecret({ flag: 'a', file: f }), /either --secret or --secret-file/);
  t.throws(() => resolveSecret({ file: join(tmp(), 'missing') }), /cannot read the secret file .*ENOENT/);
  const s = generateSecret();
  t.match(s, /^[A-Za-z0-9_-]{43}$/, 'wgp2p secret: 256 bits, base64url');
  t.not(generateSecret(), s);
});

t.test('host candidates: every usable address but loopback, link-local, our TUN and the room subnet', async (t) => {
  const info = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
    ({ address, family, internal, netmask: '', mac: '', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;
  const interfaces = {
    lo: [info('127.0.0.1', 'IPv4', true), info('::1', 'IPv6', true)],
    eth0: [info('192.168.1.20', 'IPv4'), info('fe80::1', 'IPv6'), info('2001:db8::20', 'IPv6')],
    wgp2p0: [info('10.147.3.4', 'IPv4')],
    docker0: [info('10.147.9.9', 'IPv4'), info('169.254.1.1', 'IPv4')],
  };
  const opts = { port: 41000, excludeInterfaces: ['wgp2p0'], excludeAddress: (a: string) => a.startsWith('10.147.'), interfaces };
  const v4 = hostCandidates({ ...opts, ipv6: false }).map((c) => `${c.endpoint.address}:${c.endpoint.port}`);
  t.strictSame(v4, ['192.168.1.20:41000']);
  const both = hostCandidates({ ...opts, ipv6: true }).map((c) => c.endpoint.address);
  t.strictSame(both, ['192.168.1.20', '2001:db8::20'], 'global IPv6 when the socket is dual-stack');
});

t.test('a state directory others could write to, or that is not ours, is refused', async (t) => {
  const open = mkdtempSync(join(tmpdir(), 'wgp2p-id-'));
  chmodSync(open, 0o777);
  t.throws(() => loadOrCreateIdentity(open), /state directory .* is writable by group or others \(mode 777\); run chmod go-w/);
  chmodSync(open, 0o770);
  t.throws(() => loadOrCreateIdentity(open), /writable by group or others/, 'group-writable too');
  chmodSync(open, 0o755);
  t.ok(loadOrCreateIdentity(open).created, 'readable by others is fine: the key file itself is 0600');
  if (process.getuid?.() !== 0) return;
  const theirs = mkdtempSync(join(tmpdir(), 'wgp2p-id-'));
  chownSync(theirs, 65534, 65534);
  t.throws(() => loadOrCreateIdentity(theirs), /belongs to uid 65534, not to us/, 'owned by another user');
});
