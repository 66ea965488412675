// The shipped systemd units pass `systemd-analyze verify` without a single complaint (run on
// copies whose ExecStart names a stub, as `wgp2p service install` would point it), and
// `wgp2p service install` writes exactly such a copy.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderUnit, SHIPPED_BINARY, UNIT_FILES, unitsDir } from '../systemd-units.js';
import { runService } from '../service.js';

const haveAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const CI = process.env.CI === 'true' || process.env.CI === '1';

/** A directory holding a stub wgp2p and a copy of `file` that runs it; the unit name to verify. */
function stubbedCopy(file: string, text?: string): { dir: string; unit: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wgp2p-units-'));
  const stub = join(dir, 'wgp2p');
  writeFileSync(stub, '#!/bin/sh\nexit 0\n');
  chmodSync(stub, 0o755);
  writeFileSync(join(dir, file), text ?? renderUnit(file, stub));
  // A template is verified through an instance of it.
  return { dir, unit: file.replace('@.', '@test.') };
}

/** Everything verify says (it exits 0 on unknown keys, so silence is the bar). */
function verify(dir: string, unit: string): { status: number | null; output: string } {
  const r = spawnSync('systemd-analyze', ['verify', join(dir, unit)], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

t.test('every shipped unit is one we install, and names the binary service install replaces', async (t) => {
  const shipped = readdirSync(unitsDir()).filter((f) => f.endsWith('.service')).sort();
  t.same(shipped, Object.values(UNIT_FILES).sort());
  for (const f of shipped) t.match(readFileSync(join(unitsDir(), f), 'utf8'), `\nExecStart=${SHIPPED_BINARY} `, f);
});

t.test('systemd-analyze verify is silent on every unit', { skip: !haveAnalyze && !CI ? 'systemd-analyze not installed (Debian package systemd)' : false }, async (t) => {
  t.ok(haveAnalyze, 'systemd-analyze is installed');
  for (const file of Object.values(UNIT_FILES)) {
    const { dir, unit } = stubbedCopy(file);
    const r = verify(dir, unit);
    t.equal(r.status, 0, `${unit}: exit 0`);
    t.equal(r.output, '', `${unit}: no warnings or errors`);
  }
  // The same check on a unit with a mistake in it does complain.
  const bad = stubbedCopy(UNIT_FILES.server, renderUnit(UNIT_FILES.server, '/bin/true').replace('[Service]\n', '[Service]\nProtectSytem=strict\n'));
  t.match(verify(bad.dir, bad.unit).output, /Unknown key 'ProtectSytem'/, 'a misspelt key is caught');
});

t.test('service install writes the unit with ExecStart pointed at this wgp2p', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wgp2p-unitdir-'));
  const out: string[] = [];
  t.equal(runService(['install', 'up', 'wgt0', '--unit-dir', dir], (s) => out.push(s)), 0);
  const text = readFileSync(join(dir, UNIT_FILES.up), 'utf8');
  t.notMatch(text, SHIPPED_BINARY, 'the shipped path is replaced');
  t.match(text, /\nExecStart=\S+ \S+ up \/etc\/wireguard\/%i\.conf\n/, 'node and main.js, then the arguments');
  t.match(out.join(''), /systemctl enable --now wgp2p-up@wgt0\.service/, 'prints the commands to run');
  t.throws(() => runService(['install', 'join']), /service install join needs a ROOM name/);
  t.throws(() => runService(['install', 'nope']), /usage: wgp2p service install/);
});
