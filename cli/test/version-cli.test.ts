// `wgp2p --version`, `-V` and `version` print the package.json version; extra arguments are a usage error.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tsChildEnv, tsScriptArgv } from '../../signal-server/test/node-child.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function wgp2p(args: string[]) {
  return spawnSync(process.execPath, tsScriptArgv('cli/main.ts', args), { env: { ...process.env, ...tsChildEnv({}) }, encoding: 'utf8' });
}

t.test('every spelling prints the package version', async (t) => {
  for (const flag of ['--version', '-V', 'version']) {
    const r = wgp2p([flag]);
    t.equal(r.status, 0, `${flag}: exit 0`);
    t.equal(r.stdout, `wgp2p ${version}\n`, `${flag}: wgp2p ${version}`);
  }
});

t.test('an extra argument is a usage error', async (t) => {
  const r = wgp2p(['--version', 'x']);
  t.equal(r.status, 2);
  t.match(r.stderr, /^wgp2p: usage: wgp2p --version\n$/);
});
