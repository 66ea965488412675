// The one logger: levels filter, JSON lines keep their fields and never lose time/level/msg, text
// lines read well, and the default format follows who reads (terminal, pipe, service manager).
import t from 'tap';
import { createLogger, defaultLogFormat } from '../log.js';
import { LOG_OPTIONS } from '../config/log-options.js';

function capture(format: 'text' | 'json', level: 'debug' | 'info' | 'warn' | 'error' | 'silent' = 'info', component?: string) {
  const lines: string[] = [];
  return { lines, log: createLogger({ level, format, component, write: (l) => lines.push(l) }) };
}

t.test('levels filter', async (t) => {
  const { lines, log } = capture('json', 'warn');
  log.debug('d');
  log.info('i');
  log.warn('w');
  log.error('e');
  t.same(lines.map((l) => JSON.parse(l).msg), ['w', 'e']);
  const silent = capture('json', 'silent');
  silent.log.error('nothing');
  t.equal(silent.lines.length, 0);
});

t.test('the level changes while the logger runs', async (t) => {
  const { lines, log } = capture('json', 'warn');
  t.equal(log.level, 'warn');
  log.debug('hidden');
  log.setLevel('debug');
  t.equal(log.level, 'debug');
  log.debug('shown');
  log.setLevel('error');
  log.warn('hidden again');
  log.error('e');
  t.same(lines.map((l) => JSON.parse(l).msg), ['shown', 'e']);
});

t.test('JSON lines: one object a line, fields cannot overwrite the envelope', async (t) => {
  const { lines, log } = capture('json', 'info', 'join');
  log.info('member joined', { name: 'alice', msg: 'spoof', level: 'error', candidates: ['a b', 'c'] });
  t.equal(lines.length, 1);
  t.ok(lines[0]!.endsWith('\n'));
  const r = JSON.parse(lines[0]!);
  t.equal(r.msg, 'member joined');
  t.equal(r.level, 'info');
  t.equal(r.component, 'join');
  t.equal(r.name, 'alice');
  t.same(r.candidates, ['a b', 'c']);
  t.ok(!Number.isNaN(Date.parse(r.time)));
});

t.test('text lines: time, level, component, message, key=value (quoted when needed)', async (t) => {
  const { lines, log } = capture('text', 'debug', 'tunnel');
  log.warn('path lost', { peer: 'bob', endpoint: '192.0.2.1:51820', why: 'no answer', n: 3, gone: undefined, list: [1, 2] });
  t.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} WARN  tunnel: path lost peer=bob endpoint=192\.0\.2\.1:51820 why="no answer" n=3 list=\[1,2\]\n$/);
});

t.test('default format: text only for a person at a terminal', async (t) => {
  t.equal(defaultLogFormat({}, true), 'text');
  t.equal(defaultLogFormat({}, false), 'json');
  t.equal(defaultLogFormat({ JOURNAL_STREAM: '8:1234' }, true), 'json', 'under systemd');
  t.equal(defaultLogFormat({ INVOCATION_ID: 'x' }, true), 'json');
});

t.test('parsing --log-level and --log-format', async (t) => {
  t.equal(LOG_OPTIONS.logLevel.parse('debug', '--log-level'), 'debug');
  t.throws(() => LOG_OPTIONS.logLevel.parse('loud', '--log-level'), /^--log-level: expected debug, info, warn, error or silent$/);
  t.equal(LOG_OPTIONS.logFormat.parse('json', 'WGP2P_LOG_FORMAT'), 'json');
  t.throws(() => LOG_OPTIONS.logFormat.parse('xml', 'WGP2P_LOG_FORMAT'), { message: 'WGP2P_LOG_FORMAT: expected text or json', code: 'bad_value' });
});
