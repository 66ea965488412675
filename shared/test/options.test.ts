// The one option parser: names, precedence (flags > environment > file > defaults), and a
// ConfigError with a stable code naming the flag, variable or file key for every bad input.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { envName, flagName, loadOptions, parseArgv, resolveOptions, type Option } from '../config/options.js';
import { optionHelp } from '../config/help.js';
import { asText, integer, parseBool } from '../config/values.js';
import { ConfigError } from '../errors.js';

const OPTIONS = {
  listenPort: { parse: integer(0, 65535), default: 0, value: 'P', help: 'the port' },
  name: { parse: asText, value: 'N', help: 'a name' },
  relay: { parse: parseBool, boolean: true, default: false, help: 'relay\nsecond line' },
  iface: { parse: asText, noEnv: true, value: 'IF', help: 'not from the environment' },
  url: {
    parse: (raw: unknown, where: string) => {
      const text = asText(raw, where);
      if (!text.startsWith('ws')) throw new Error(`"${text}" is not a URL`);
      return new URL(text);
    },
    value: 'URL',
    help: 'throws a plain Error',
  },
} satisfies Record<string, Option<unknown>>;

const resolve = (argv: string[], env: NodeJS.ProcessEnv = {}, file?: string) => resolveOptions(OPTIONS, parseArgv(argv, OPTIONS), env, file);

t.test('names: --kebab-case flags, WGP2P_SNAKE_CASE variables, camelCase file keys', async (t) => {
  t.equal(flagName('listenPort'), '--listen-port');
  t.equal(envName('listenPort'), 'WGP2P_LISTEN_PORT');
  const r = resolve(['--listen-port', '1', '--name=x'], {}, '{"iface": "wg1"}');
  t.same(r.values, { listenPort: 1, name: 'x', relay: false, iface: 'wg1' });
  t.same(r.sources, { listenPort: 'flag', name: 'flag', iface: 'file' });
});

t.test('precedence: flags over environment over file over defaults', async (t) => {
  const file = JSON.stringify({ listenPort: 1, name: 'file', relay: true });
  const env = { WGP2P_LISTEN_PORT: '2', WGP2P_NAME: 'env' };
  t.same(resolve([], {}).values, { listenPort: 0, relay: false }, 'defaults');
  t.same(resolve([], {}, file).values, { listenPort: 1, name: 'file', relay: true }, 'file');
  t.same(resolve([], env, file).values, { listenPort: 2, name: 'env', relay: true }, 'environment over file');
  const all = resolve(['--listen-port', '3', '--no-relay'], env, file);
  t.same(all.values, { listenPort: 3, name: 'env', relay: false }, 'flags over both');
  t.same(all.sources, { listenPort: 'flag', name: 'env', relay: 'flag' });
  t.equal(resolve(['--name', 'a', '--name', 'b']).values.name, 'b', 'a later flag wins');
  t.equal(resolve([], { WGP2P_NAME: '' }, file).values.name, 'file', 'an empty variable is unset');
  t.equal(resolve([], { WGP2P_IFACE: 'wg9' }).values.iface, undefined, 'noEnv options ignore the environment');
  t.equal(resolveOptions(OPTIONS, parseArgv([], OPTIONS), undefined).values.name, undefined, 'no env, no variables');
});

t.test('booleans: --x, --x=V, --x V (only a yes/no word), --no-x', async (t) => {
  t.equal(resolve(['--relay']).values.relay, true);
  t.equal(resolve(['--relay', 'no']).values.relay, false);
  t.equal(resolve(['--relay=off']).values.relay, false);
  t.equal(resolve(['--relay', '--name', 'x']).values.relay, true, 'a flag after it is not its value');
  t.same(parseArgv(['--relay', 'x'], OPTIONS).positional, ['x'], 'nor is a word that is no yes/no');
  t.equal(resolve([], {}, '{"relay": true}').values.relay, true, 'JSON booleans');
});

t.test('help, positionals and --', async (t) => {
  t.ok(parseArgv(['-h'], OPTIONS).help);
  t.ok(parseArgv(['--help'], OPTIONS).help);
  t.same(parseArgv(['a', '--name', 'n', 'b', '--', '--relay'], OPTIONS).positional, ['a', 'b', '--relay']);
  t.equal(parseArgv(['--config', 'f.json'], OPTIONS).configFile, 'f.json');
});

t.test('every bad input is a ConfigError with a stable code naming its source', async (t) => {
  const cases: [string, () => unknown, string, string | undefined, RegExp][] = [
    ['unknown flag', () => resolve(['--nope']), 'unknown_option', '--nope', /^unknown option --nope$/],
    ['--config where not accepted', () => parseArgv(['--config', 'x'], OPTIONS, false), 'unknown_option', '--config', /unknown option --config/],
    ['--no- of a non-boolean', () => resolve(['--no-name']), 'unknown_option', '--no-name', /unknown option --no-name/],
    ['missing value', () => resolve(['--name']), 'missing_value', '--name', /^--name needs a value$/],
    ['value on --no-x', () => resolve(['--no-relay=1']), 'unexpected_value', '--no-relay', /^--no-relay takes no value$/],
    ['bad flag value', () => resolve(['--listen-port', '70000']), 'bad_value', '--listen-port', /^--listen-port: expected an integer from 0 to 65535, got "70000"$/],
    ['bad variable', () => resolve([], { WGP2P_LISTEN_PORT: '-1' }), 'bad_value', 'WGP2P_LISTEN_PORT', /^WGP2P_LISTEN_PORT: expected an integer/],
    ['bad variable under a good flag', () => resolve(['--listen-port', '1'], { WGP2P_LISTEN_PORT: 'x' }), 'bad_value', 'WGP2P_LISTEN_PORT', /WGP2P_LISTEN_PORT/],
    ['bad file value', () => resolve([], {}, '{"listenPort": 1.5}'), 'bad_value', 'config file listenPort', /^config file listenPort: expected an integer/],
    ['wrong JSON type', () => resolve([], {}, '{"name": ["a"]}'), 'bad_value', 'config file name', /^config file name: expected a string$/],
    ['bad boolean', () => resolve(['--relay=maybe']), 'bad_value', '--relay', /^--relay: expected true or false$/],
    ['plain Error from a parser', () => resolve(['--url', 'http://x']), 'bad_value', '--url', /^--url: "http:\/\/x" is not a URL$/],
    ['unknown file key', () => resolve([], {}, '{"colour": 1}'), 'unknown_key', 'colour', /^config file: unknown key "colour"$/],
    ['prototype key', () => resolve([], {}, '{"__proto__": {"name": "x"}}'), 'unknown_key', '__proto__', /unknown key "__proto__"/],
    ['inherited key', () => resolve([], {}, '{"toString": "x"}'), 'unknown_key', 'toString', /unknown key "toString"/],
    ['not JSON', () => resolve([], {}, '{'), 'bad_file', undefined, /^config file is not valid JSON$/],
    ['not an object', () => resolve([], {}, '[1]'), 'bad_file', undefined, /^config file must hold a JSON object$/],
  ];
  for (const [what, fn, code, where, message] of cases) {
    try {
      fn();
      t.fail(`${what}: no error`);
    } catch (err) {
      t.ok(err instanceof ConfigError, `${what}: a ConfigError`);
      t.match(err, { code, where, message }, what);
    }
  }
  t.equal(({} as Record<string, unknown>).name, undefined, 'Object.prototype untouched');
});

t.test('loadOptions reads --config FILE, else WGP2P_CONFIG', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wgp2p-options-'));
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  writeFileSync(a, '{"name": "a"}');
  writeFileSync(b, '{"name": "b"}');
  const load = (argv: string[], env: NodeJS.ProcessEnv) => {
    const r = loadOptions(OPTIONS, argv, { env, configFile: true });
    return r.help ? 'help' : r.values.name;
  };
  t.equal(load(['--config', a], { WGP2P_CONFIG: b }), 'a');
  t.equal(load([], { WGP2P_CONFIG: b }), 'b');
  t.equal(load(['--help', '--config', join(dir, 'none')], {}), 'help', 'help reads no file');
  t.throws(() => load(['--config', join(dir, 'none')], {}), { code: 'bad_file', message: /^cannot read config file .*none: ENOENT$/ });
  const flagsOnly = loadOptions(OPTIONS, ['--name', 'n'], {});
  t.same(!flagsOnly.help && flagsOnly.values, { listenPort: 0, relay: false, name: 'n' });
  t.throws(() => loadOptions(OPTIONS, ['--config', a], {}), { code: 'unknown_option' }, 'a command without files refuses --config');
});

t.test('help lines come from the declarations', async (t) => {
  const lines = optionHelp(OPTIONS, { flagWidth: 16, envWidth: 20 });
  t.equal(lines[0], `  ${'--listen-port P'.padEnd(16)} ${'WGP2P_LISTEN_PORT'.padEnd(20)} the port`);
  t.equal(lines[3], `${' '.repeat(40)}second line`, 'continuation lines line up');
  t.match(lines[4], /^ {2}--iface IF +not from/, 'no variable for a noEnv option');
});
