// `wgp2p --version`, `-V` and `version` print the package.json version; extra arguments are a usage error.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tsChildEnv, tsScriptArgv } from '../../signal-server/test/node-child.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Runs the CLI from source; every start compiles it, so the cases run side by side. */
function wgp2p(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, tsScriptArgv('cli/main.ts', args), { env: { ...process.env, ...tsChildEnv({}) } }, (err, stdout, stderr) => {
      resolve({ status: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

t.test('every spelling prints the package version; an extra argument is a usage error', async (t) => {
  const flags = ['--version', '-V', 'version'];
  const [bad, ...runs] = await Promise.all([wgp2p(['--version', 'x']), ...flags.map((f) => wgp2p([f]))]);
  runs.forEach((r, i) => {
    t.equal(r.status, 0, `${flags[i]}: exit 0`);
    t.equal(r.stdout, `wgp2p ${version}\n`, `${flags[i]}: wgp2p ${version}`);
  });
  t.equal(bad!.status, 2);
  t.equal(bad!.stderr, 'wgp2p: usage: wgp2p --version\n');
});
