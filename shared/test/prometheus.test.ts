// The one Prometheus text renderer: HELP and TYPE per family, one sample line format, escaping.
import t from 'tap';
import { escapeLabelValue, labelled, renderPrometheus, sampleLine, single } from '../observe/prometheus.js';

t.test('families: HELP, TYPE, then samples', async (t) => {
  const text = renderPrometheus([
    single('up_total', 'Ups.', 'counter', 3),
    labelled('paths', 'By path.', 'gauge', 'path', { direct: 1, relay: 0 }),
    labelled('drops_total', 'None yet.', 'counter', 'reason', new Map<string, number>()),
  ]);
  t.equal(
    text,
    [
      '# HELP up_total Ups.',
      '# TYPE up_total counter',
      'up_total 3',
      '# HELP paths By path.',
      '# TYPE paths gauge',
      'paths{path="direct"} 1',
      'paths{path="relay"} 0',
      '# HELP drops_total None yet.',
      '# TYPE drops_total counter',
      '',
    ].join('\n'),
  );
  t.equal(renderPrometheus([]), '', 'nothing for no families');
});

t.test('label values and help text are escaped', async (t) => {
  t.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  t.equal(sampleLine('m', { labels: { a: 'x"y', b: '2' }, value: 1.5 }), 'm{a="x\\"y",b="2"} 1.5');
  t.match(renderPrometheus([single('m', 'two\nlines \\ here', 'gauge', 0)]), /^# HELP m two\\nlines \\\\ here$/m);
});
