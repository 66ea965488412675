// `wgp2p --version`, `-V` and `version` print the package.json version; extra arguments are a usage error.
// Help and an unknown command: the dispatch in main.ts around the command table.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tsChildEnv, tsScriptArgv } from '../../signal-server/test/node-child.js';
import { USAGE } from '../commands.js';

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

t.test('help on request (exit 0) or without a command (exit 1); an unknown command is a usage error', async (t) => {
  const [none, help, dash, nope, secret] = await Promise.all([wgp2p([]), wgp2p(['help']), wgp2p(['-h']), wgp2p(['nope']), wgp2p(['secret', 'x'])]);
  t.same([none.status, none.stdout], [1, USAGE], 'no command: the help, exit 1');
  t.same([help.status, help.stdout, dash.status, dash.stdout], [0, USAGE, 0, USAGE], 'help and -h: the help, exit 0');
  t.same([nope.status, nope.stdout, nope.stderr], [2, '', `wgp2p: unknown command "nope"\n${USAGE}\n`], 'unknown: exit 2, the help on stderr');
  t.same([secret.status, secret.stderr], [2, 'wgp2p: usage: wgp2p secret\n'], 'secret takes no argument');
});
