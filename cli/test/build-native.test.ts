// scripts/build-native.mjs, the package's install script: one clear line when the addon cannot
// be built, silence when it is built or already up to date.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/build-native.mjs', import.meta.url));

/** A one-file addon project; `source` is its C++. */
function addonDir(source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wgp2p-native-test-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'binding.gyp'), "{ 'targets': [ { 'target_name': 'wgp2p_tun', 'sources': ['src/x.cc'] } ] }\n");
  writeFileSync(join(dir, 'src', 'x.cc'), source);
  return dir;
}

const build = (dir: string, ...flags: string[]) => spawnSync(process.execPath, [SCRIPT, ...flags, '--dir', dir], { encoding: 'utf8', timeout: 120_000 });

t.test('a compile error fails with one line naming it', async (t) => {
  const r = build(addonDir('int f( { return 0; }\n'), '--install');
  t.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 1, 'one line under --install');
  t.match(lines[0], /^wgp2p: cannot build the native addon \(needs python3, make and a C\+\+ compiler\): .*x\.cc:1:\d+: error: .* \(full log: \/.*build\.log\)$/);
});

t.test('a missing compiler fails with one line naming it', async (t) => {
  const r = spawnSync(process.execPath, [SCRIPT, '--install', '--dir', addonDir('int f() { return 0; }\n')], { encoding: 'utf8', env: { ...process.env, CXX: 'wgp2p-no-such-compiler' } });
  t.equal(r.status, 1);
  t.match(r.stderr, /^wgp2p: cannot build the native addon .*wgp2p-no-such-compiler.*\n$/);
});

t.test('a good build is silent, and an up-to-date one is skipped', async (t) => {
  const dir = addonDir('int f() { return 0; }\n');
  const first = build(dir);
  t.equal(first.status, 0, first.stderr);
  t.equal(first.stdout + first.stderr, '', 'nothing printed');
  const addon = join(dir, 'build', 'Release', 'wgp2p_tun.node');
  const built = statSync(addon).mtimeMs;
  const again = build(dir);
  t.equal(again.status, 0);
  t.equal(statSync(addon).mtimeMs, built, 'not rebuilt');
  // A source newer than the addon makes it rebuild.
  const later = new Date(Date.now() + 5_000);
  utimesSync(join(dir, 'src', 'x.cc'), later, later);
  t.equal(build(dir).status, 0);
  t.ok(statSync(addon).mtimeMs > built, 'rebuilt after a source changed');
});
