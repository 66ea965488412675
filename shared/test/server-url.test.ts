// --server in every accepted form comes out as one ws:// or wss:// URL with a path.
import t from 'tap';
import { normalizeServerUrl, parseServerUrl } from '../net/server-url.js';

t.test('accepted forms', async (t) => {
  const cases: [string, string][] = [
    ['signal.example', 'ws://signal.example:8080/ws'],
    ['signal.example:9000', 'ws://signal.example:9000/ws'],
    ['signal.example:9000/custom', 'ws://signal.example:9000/custom'],
    ['127.0.0.1:8080', 'ws://127.0.0.1:8080/ws'],
    ['[::1]:9000', 'ws://[::1]:9000/ws'],
    ['[2001:db8::1]', 'ws://[2001:db8::1]:8080/ws'],
    ['::1', 'ws://[::1]:8080/ws'],
    ['ws://signal.example:8080', 'ws://signal.example:8080/ws'],
    ['ws://signal.example:8080/', 'ws://signal.example:8080/ws'],
    ['ws://signal.example:8080/ws', 'ws://signal.example:8080/ws'],
    ['wss://signal.example', 'wss://signal.example/ws'],
    ['wss://signal.example/p?x=1', 'wss://signal.example/p?x=1'],
    ['http://signal.example:8080', 'ws://signal.example:8080/ws'],
    ['https://signal.example', 'wss://signal.example/ws'],
    ['https://signal.example:443/ws', 'wss://signal.example/ws'],
    ['HTTPS://[::1]:8443', 'wss://[::1]:8443/ws'],
    ['  signal.example  ', 'ws://signal.example:8080/ws'],
  ];
  for (const [input, want] of cases) t.equal(normalizeServerUrl(input), want, input);
  t.equal(parseServerUrl('[::1]:9').hostname, '[::1]', 'URL hostnames keep the brackets');
});

t.test('refused forms name the problem', async (t) => {
  t.throws(() => normalizeServerUrl(''), /empty/);
  t.throws(() => normalizeServerUrl('ftp://signal.example'), /scheme must be ws:\/\/, wss:\/\/, http:\/\/ or https:\/\//);
  t.throws(() => normalizeServerUrl('ws://'), /not a URL|no host/);
  t.throws(() => normalizeServerUrl(':8080'), /no host/);
  t.throws(() => normalizeServerUrl('a:b:c'), /expected host, host:port/);
  t.throws(() => normalizeServerUrl('host:99999'), /expected host, host:port/);
  t.throws(() => normalizeServerUrl('bad host'), /not a host/);
});
