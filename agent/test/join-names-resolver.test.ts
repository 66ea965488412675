// Names: resolv.conf gets our nameserver and domain first; the old text comes back on undo, and
// after a crash on the next start (from the backup in the state directory).
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../shared/log.js';
import { configureResolver, resolvConfWithRoom, restoreLeftover } from '../join/names/resolver-config.js';

const log = createLogger({ component: 'test', level: 'error' });
const ORIGINAL = 'nameserver 192.0.2.53\nsearch a.example b.example\noptions edns0\n';

t.test('our nameserver first, one search line with DOMAIN first', async (t) => {
  const text = resolvConfWithRoom(ORIGINAL, '10.147.0.2', 'office');
  t.match(text, /^# wgp2p join[^\n]*\nnameserver 10\.147\.0\.2\nsearch office a\.example b\.example\nnameserver 192\.0\.2\.53\noptions edns0\n$/);
  t.equal(resolvConfWithRoom(text, '10.147.0.3', 'office').split('\n').filter((l) => l.startsWith('search')).length, 1, 'idempotent: one search line');
  t.equal(resolvConfWithRoom('', '10.147.0.2', 'office').split('\n').slice(1).join('\n'), 'nameserver 10.147.0.2\nsearch office\n');
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'wgp2p-names-'));
  const path = join(dir, 'resolv.conf');
  writeFileSync(path, ORIGINAL);
  return { dir, path, o: { mode: 'resolv-conf' as const, ifname: 'wgt0', address: '10.147.0.2', domain: 'office', stateDir: dir, log, resolvConf: path } };
}

t.test('written, then restored on undo (twice is harmless)', async (t) => {
  const { path, o } = setup();
  const r = await configureResolver(o);
  t.equal(r?.method, 'resolv-conf');
  t.match(readFileSync(path, 'utf8'), /nameserver 10\.147\.0\.2/);
  r!.undo();
  r!.undo();
  t.equal(readFileSync(path, 'utf8'), ORIGINAL);
  t.notOk(restoreLeftover(o.stateDir, log), 'no backup left');
});

t.test('after a crash the next start restores it', async (t) => {
  const { path, o } = setup();
  await configureResolver(o); // no undo: the process "died"
  t.not(readFileSync(path, 'utf8'), ORIGINAL);
  t.ok(restoreLeftover(o.stateDir, log));
  t.equal(readFileSync(path, 'utf8'), ORIGINAL);
});

t.test('a file someone changed since is left alone; a file that was not there is removed', async (t) => {
  const { path, o } = setup();
  await configureResolver(o);
  writeFileSync(path, 'nameserver 203.0.113.1\n');
  t.ok(restoreLeftover(o.stateDir, log));
  t.equal(readFileSync(path, 'utf8'), 'nameserver 203.0.113.1\n');
  const fresh = setup();
  const none = join(fresh.dir, 'none.conf');
  const r = await configureResolver({ ...fresh.o, resolvConf: none });
  t.ok(existsSync(none));
  r!.undo();
  t.notOk(existsSync(none));
});

t.test('off leaves the system alone', async (t) => {
  const { path, o } = setup();
  t.equal(await configureResolver({ ...o, mode: 'off' }), undefined);
  t.equal(readFileSync(path, 'utf8'), ORIGINAL);
});
