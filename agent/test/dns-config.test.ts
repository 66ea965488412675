// DNS = through the resolv.conf file method: written in place, the old contents restored once.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyDns, resolvConfText } from '../tun/dns-config.js';

const dns = { servers: ['192.0.2.53', '2001:db8::53'], search: ['corp.example', 'lab.example'] };

t.test('the resolv.conf text has nameservers and one search line', async (t) => {
  t.equal(resolvConfText(dns), 'nameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch corp.example lab.example\n');
  t.equal(resolvConfText({ servers: ['192.0.2.1'], search: [] }), 'nameserver 192.0.2.1\n');
});

t.test('the file method replaces the contents and restores them', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'wgp2p-dns-')), 'resolv.conf');
  writeFileSync(file, 'nameserver 198.51.100.1\noptions edns0\n');
  const applied = await applyDns('wgt0', dns, 'file', file);
  t.equal(applied?.method, 'file');
  t.match(readFileSync(file, 'utf8'), /^# written by wgp2p up for wgt0.*\nnameserver 192\.0\.2\.53\nnameserver 2001:db8::53\nsearch corp\.example lab\.example\n$/);
  await applied!.undo();
  await applied!.undo();
  t.equal(readFileSync(file, 'utf8'), 'nameserver 198.51.100.1\noptions edns0\n', 'restored (twice is harmless)');
});

t.test('a file that did not exist is removed again', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'wgp2p-dns-')), 'resolv.conf');
  const applied = await applyDns('wgt0', dns, 'file', file);
  t.ok(existsSync(file));
  await applied!.undo();
  t.notOk(existsSync(file));
});

t.test('no DNS in the file changes nothing', async (t) => {
  t.equal(await applyDns('wgt0', { servers: [], search: [] }, 'file', '/nonexistent/resolv.conf'), undefined);
  t.equal(await applyDns('wgt0', undefined), undefined);
});
