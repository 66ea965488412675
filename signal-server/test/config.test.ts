// `wgp2p server` configuration: defaults, precedence (flags > WGP2P_* env > config file), and a
// clear ConfigError for every bad value instead of a server that starts half-configured.
import t, { type Test } from 'tap';
import { ConfigError } from '../../shared/errors.js';
import { envName, flagName } from '../../shared/config/options.js';
import { DEFAULT_CONFIG, parseArgs, parseListenAddress, resolveConfig, usage } from '../config.js';

const resolve = (argv: string[], env: NodeJS.ProcessEnv = {}, file?: string) => resolveConfig(parseArgs(argv), env, file);

/** Each case throws a ConfigError whose message matches. */
function expectConfigErrors(t: Test, cases: [() => unknown, RegExp][]): void {
  for (const [fn, message] of cases) {
    t.throws(fn, message, String(message));
    try {
      fn();
    } catch (err) {
      t.ok(err instanceof ConfigError, `${String(message)} is a ConfigError`);
    }
  }
}

t.test('defaults match the issue: listen 0.0.0.0:8080, STUN 3478, no alternate port, no token', async (t) => {
  const c = resolve([]);
  t.equal(c.listenHost, '0.0.0.0');
  t.equal(c.listenPort, 8080);
  t.equal(c.stunPort, 3478);
  t.equal(c.stunAltPort, null);
  t.equal(c.token, null);
  t.same(c, DEFAULT_CONFIG);
});

t.test('option names: --kebab-case flags and WGP2P_SNAKE_CASE variables', async (t) => {
  t.equal(flagName('stunAltPort'), '--stun-alt-port');
  t.equal(envName('stunAltPort'), 'WGP2P_STUN_ALT_PORT');
  t.equal(envName('token'), 'WGP2P_TOKEN');
  const c = resolve(['--listen', '127.0.0.1:9000', '--stun-port=4000', '--stun-alt-port', '4001', '--token', 'sekrit']);
  t.same([c.listenHost, c.listenPort, c.stunPort, c.stunAltPort, c.token], ['127.0.0.1', 9000, 4000, 4001, 'sekrit']);
});

t.test('precedence: flags over environment over config file over defaults', async (t) => {
  const file = JSON.stringify({ listen: '10.0.0.1:1111', token: 'from-file', stunPort: 1000, maxRooms: 7, logLevel: 'warn' });
  const env = { WGP2P_TOKEN: 'from-env', WGP2P_STUN_PORT: '2000', WGP2P_MAX_ROOMS: '8' };
  const onlyFile = resolve([], {}, file);
  t.same([onlyFile.listenPort, onlyFile.token, onlyFile.stunPort, onlyFile.maxRooms], [1111, 'from-file', 1000, 7]);
  const fileAndEnv = resolve([], env, file);
  t.same([fileAndEnv.listenPort, fileAndEnv.token, fileAndEnv.stunPort, fileAndEnv.maxRooms], [1111, 'from-env', 2000, 8]);
  const all = resolve(['--token', 'from-flag', '--max-rooms', '9'], env, file);
  t.same([all.listenPort, all.token, all.stunPort, all.maxRooms], [1111, 'from-flag', 2000, 9]);
  t.equal(all.logLevel, 'warn', 'a value set only in the file survives');
  t.equal(resolve([], { WGP2P_TOKEN: '' }, file).token, 'from-file', 'an empty variable counts as unset');
  t.equal(resolve([], { WGP2P_STUN_PORT: 'off' }).stunPort, null, 'STUN can be switched off');
});

t.test('listen addresses', async (t) => {
  t.same(parseListenAddress('127.0.0.1:80'), { host: '127.0.0.1', port: 80 });
  t.same(parseListenAddress(':8080'), { host: '0.0.0.0', port: 8080 });
  t.same(parseListenAddress('[::1]:443'), { host: '::1', port: 443 });
  t.same(parseListenAddress('example.org:8080'), { host: 'example.org', port: 8080 });
  for (const bad of ['8080', '1.2.3.4:65536', '::1:80', '[::1]', 'host:port', '']) t.equal(parseListenAddress(bad), undefined, bad);
});

t.test('every bad input is a ConfigError naming where it came from', async (t) => {
  const cases: [() => unknown, RegExp][] = [
    [() => parseArgs(['--nope', '1']), /unknown option --nope/],
    [() => parseArgs(['--token']), /--token needs a value/],
    [() => parseArgs(['stray']), /unknown option stray/],
    [() => resolve(['--listen', 'nowhere']), /--listen: expected HOST:PORT/],
    [() => resolve(['--stun-port', '70000']), /--stun-port: expected a port/],
    [() => resolve(['--stun-port', '-1']), /--stun-port/],
    [() => resolve(['--max-rooms', '0']), /--max-rooms: expected an integer/],
    [() => resolve(['--max-rooms', '1e3']), /--max-rooms/],
    [() => resolve(['--hello-timeout-ms', '9999999999']), /--hello-timeout-ms: expected an integer from 1 to 2147483647/],
    [() => resolve(['--log-level', 'loud']), /--log-level: expected debug/],
    [() => resolve(['--token', ''], {}), /--token: expected 1-256 characters/],
    [() => resolve(['--token', 'x'.repeat(257)]), /--token: expected 1-256/],
    [() => resolve(['--stun-public-ip', '203.0.113.300']), /--stun-public-ip: expected an IP address/],
    [() => resolve(['--stun-host', 'localhost']), /--stun-host: expected an IP address/],
    [() => resolve(['--tls-cert', 'c.pem']), /--tls-cert and --tls-key go together/],
    [() => resolve(['--stun-port', '3478', '--stun-alt-port', '3478']), /must differ/],
    [() => resolve([], { WGP2P_MAX_ROOMS: 'many' }), /WGP2P_MAX_ROOMS: expected an integer/],
    [() => resolve([], {}, '{not json'), /config file is not valid JSON/],
    [() => resolve([], {}, '[1]'), /must hold a JSON object/],
    [() => resolve([], {}, '{"maxRoom": 3}'), /unknown key "maxRoom"/],
    [() => resolve([], {}, '{"__proto__": {"token": "x"}}'), /unknown key "__proto__"/],
    [() => resolve([], {}, '{"token": {"a": 1}}'), /config file token: expected a string/],
    [() => resolve([], {}, '{"stunPort": true}'), /config file stunPort: expected a string/],
  ];
  expectConfigErrors(t, cases);
  t.equal(({} as Record<string, unknown>).token, undefined, 'Object.prototype untouched');
});

t.test('config file values may be JSON numbers or null', async (t) => {
  const c = resolve([], {}, JSON.stringify({ stunPort: 5000, stunAltPort: 5001, maxRooms: 3, token: null, stunPublicIp: '203.0.113.5' }));
  t.same([c.stunPort, c.stunAltPort, c.maxRooms, c.token, c.stunPublicIp], [5000, 5001, 3, null, '203.0.113.5']);
});

t.test('usage lists every option with its flag and variable', async (t) => {
  const text = usage();
  for (const key of ['listen', 'stunPort', 'stunAltPort', 'token', 'tlsCert', 'tlsKey', 'maxFrameBytes', 'addressMessageRate']) {
    t.match(text, flagName(key));
    t.match(text, envName(key));
  }
  t.ok(parseArgs(['--help']).help);
});

t.test('relay options: defaults, boolean flags, precedence', async (t) => {
  const d = resolve([]);
  t.same(
    [d.relay, d.relayPort, d.relayHost, d.wsRelay, d.relayBytesPerSecond, d.relayBurstBytes],
    [false, 3480, null, true, 25_000_000, 4_000_000],
    'UDP relay off, WebSocket relay on, 25 MB/s per member',
  );
  t.equal(resolve(['--relay']).relay, true, '--relay alone switches it on');
  t.equal(resolve(['--relay', '--relay-port', '4000']).relayPort, 4000, 'a flag after --relay is not its value');
  t.equal(resolve(['--relay', 'false']).relay, false, '--relay false');
  t.equal(resolve(['--relay=no']).relay, false, '--relay=no');
  t.equal(resolve(['--relay', 'ON']).relay, true);
  t.equal(resolve(['--no-ws-relay']).wsRelay, false, '--no-ws-relay');
  t.equal(resolve(['--ws-relay', 'false']).wsRelay, false, '--ws-relay false');
  t.equal(resolve(['--ws-relay=0']).wsRelay, false);
  t.equal(resolve(['--no-relay'], { WGP2P_RELAY: 'true' }).relay, false, '--no-relay beats the environment');
  t.same(resolve(['--relay-port', '0']).relayPort, 0, 'port 0 picks a free port (tests)');
  t.equal(resolve(['--relay-host', '::1']).relayHost, '::1');

  const file = JSON.stringify({ relay: true, wsRelay: false, relayPort: 5000, relayHost: '10.0.0.1', relayBytesPerSecond: 1000, relayBurstBytes: 2000 });
  const f = resolve([], {}, file);
  t.same([f.relay, f.wsRelay, f.relayPort, f.relayHost, f.relayBytesPerSecond, f.relayBurstBytes], [true, false, 5000, '10.0.0.1', 1000, 2000], 'from the file');
  const env = { WGP2P_RELAY: 'no', WGP2P_WS_RELAY: 'yes', WGP2P_RELAY_PORT: '6000', WGP2P_RELAY_BYTES_PER_SECOND: '3000' };
  const e = resolve([], env, file);
  t.same([e.relay, e.wsRelay, e.relayPort, e.relayHost, e.relayBytesPerSecond], [false, true, 6000, '10.0.0.1', 3000], 'the environment beats the file');
  const all = resolve(['--relay', '--no-ws-relay', '--relay-port', '7000', '--relay-bytes-per-second', '4000'], env, file);
  t.same([all.relay, all.wsRelay, all.relayPort, all.relayBytesPerSecond], [true, false, 7000, 4000], 'flags beat both');
  t.equal(resolve(['--relay', '--relay-port', '3478', '--relay-host', '10.0.0.2']).relay, true, 'the STUN port number on another address is fine');
});

t.test('bad relay options are ConfigErrors', async (t) => {
  const cases: [() => unknown, RegExp][] = [
    [() => resolve(['--relay-port', '70000']), /--relay-port: expected a port/],
    [() => resolve(['--relay-port', 'off']), /--relay-port: expected a port/],
    [() => resolve(['--relay-port', '-1']), /--relay-port/],
    [() => resolve([], { WGP2P_RELAY_PORT: '99999' }), /WGP2P_RELAY_PORT: expected a port/],
    [() => resolve(['--relay=maybe']), /--relay: expected true or false/],
    [() => resolve(['--relay', 'maybe']), /unknown option maybe/],
    [() => resolve([], { WGP2P_WS_RELAY: 'perhaps' }), /WGP2P_WS_RELAY: expected true or false/],
    [() => resolve([], {}, '{"relay": "sometimes"}'), /config file relay: expected true or false/],
    [() => resolve([], {}, '{"wsRelay": 1}'), /config file wsRelay: expected true or false/],
    [() => resolve(['--no-relay=1']), /--no-relay takes no value/],
    [() => resolve(['--no-listen']), /unknown option --no-listen/],
    [() => resolve(['--relay-host', 'relay.example']), /--relay-host: expected an IP address/],
    [() => resolve(['--relay-bytes-per-second', '0']), /--relay-bytes-per-second: expected an integer/],
    [() => resolve(['--relay', '--relay-port', '3478']), /--relay-port must differ from --stun-port/],
    [() => resolve(['--relay', '--relay-port', '4000', '--stun-alt-port', '4000']), /--relay-port must differ from --stun-alt-port/],
  ];
  expectConfigErrors(t, cases);
  t.equal(resolve(['--relay-port', '3478']).relayPort, 3478, 'no clash while the UDP relay is off');
});

t.test('usage documents the relay options', async (t) => {
  const text = usage();
  for (const key of ['relay', 'relayPort', 'relayHost', 'wsRelay', 'relayBytesPerSecond', 'relayBurstBytes']) {
    t.match(text, flagName(key));
    t.match(text, envName(key));
  }
  t.match(text, /--no-ws-relay/);
});
