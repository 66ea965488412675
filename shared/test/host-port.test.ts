// HostPort: a listen address or a wg-quick Endpoint whose host may still be a name.
import t from 'tap';
import { parseHostPort } from '../net/host-port.js';

t.test('parse', async (t) => {
  t.same(parseHostPort('example.org:51820'), { host: 'example.org', port: 51820 });
  t.same(parseHostPort('[fe80::1%eth0]:1'), { host: 'fe80::1%eth0', port: 1 });
  t.same(parseHostPort(':80'), { host: '', port: 80 }, 'an empty host is left to the caller');
  for (const bad of ['2001:db8::1:51820', '[::1]', 'host:65536', 'host:', '[x]:1', 'host:port']) t.equal(parseHostPort(bad), undefined, bad);
});
