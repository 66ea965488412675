// PreUp/PostUp/PreDown/PostDown: %i replaced, bash -c, file order, the first failure stops the
// start-up hooks (named in the error) while the shutdown ones all run.
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandHook, runHooks, runHooksBestEffort } from '../daemon/wg-quick-hooks.js';
import { createLogger } from '../../shared/log.js';

const log = createLogger({ level: 'silent' });
const none = { preUp: [], postUp: [], preDown: [], postDown: [] };

t.test('%i becomes the interface name, everywhere and nothing else', async (t) => {
  t.equal(expandHook('iptables -A FORWARD -i %i -j ACCEPT; echo %i $HOME %%', 'wg7'), 'iptables -A FORWARD -i wg7 -j ACCEPT; echo wg7 $HOME %%');
});

t.test('hooks run through bash, in order, and the first failure stops the rest', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'wgp2p-hooks-')), 'out');
  const hooks = { ...none, postUp: [`echo one %i >> ${out}`, `[[ -n "%i" ]] && echo two >> ${out}`, `exit 3`, `echo never >> ${out}`] };
  await t.rejects(runHooks(hooks, 'PostUp', 'wgx', log), { name: 'HookError', message: 'PostUp command failed (exit 3): exit 3' });
  t.equal(readFileSync(out, 'utf8'), 'one wgx\ntwo\n', 'ran in order, bash syntax works, stopped at the failure');
});

t.test('shutdown hooks go on past a failure', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'wgp2p-hooks-')), 'out');
  await runHooksBestEffort({ ...none, postDown: ['false', `echo after >> ${out}`] }, 'PostDown', 'wgx', log);
  t.equal(readFileSync(out, 'utf8'), 'after\n');
});

t.test('no hooks is nothing to do', async (t) => {
  await runHooks(undefined, 'PreUp', 'wgx', log);
  await runHooks(none, 'PreDown', 'wgx', log);
  t.pass('no error');
});
