// The subcommand table: every spelling finds its one command, and the help shows each command's
// lines in the table's order with the descriptions in one column.
import t from 'tap';
import { COMMANDS, findCommand, USAGE } from '../commands.js';

t.test('every spelling finds its command; no spelling is taken twice; others find none', async (t) => {
  const spellings = COMMANDS.flatMap((c) => c.names);
  t.equal(new Set(spellings).size, spellings.length, 'spellings are unique');
  for (const c of COMMANDS) for (const name of c.names) t.equal(findCommand(name), c, name);
  for (const name of ['', 'nope', 'UP', 'constructor', 'toString', 'help', '--help']) t.equal(findCommand(name), undefined, `"${name}" is no command`);
});

t.test('the help has one line per help entry, in table order, descriptions aligned', async (t) => {
  const [head, ...lines] = USAGE.split('\ncommands:\n');
  t.equal(head, 'usage: wgp2p <command> [options]\n');
  t.equal(lines.length, 1);
  const rows = lines[0]!.trimEnd().split('\n');
  const expected = COMMANDS.flatMap((c) => c.help.map(([args, does]) => ({ synopsis: [c.names.join(', '), args].filter(Boolean).join(' '), does })));
  t.equal(rows.length, expected.length);
  rows.forEach((row, i) => {
    const { synopsis, does } = expected[i]!;
    t.ok(row.startsWith(`  ${synopsis} `), `row ${i} starts with "${synopsis}"`);
    t.ok(row.endsWith(`  ${does}`), `row ${i} ends with its description`);
    // Short synopses leave the description at column 33; a long one pushes it right by two spaces.
    t.equal(row.indexOf(does), Math.max(33, synopsis.length + 4), `row ${i}: description column`);
  });
  t.match(USAGE, /\n {2}version, --version, -V {9}print the version\n$/, 'all spellings shown, the last line');
  t.match(USAGE, /\n {2}invite --revoke INVITE {9}revoke an unused invite/, 'a second help line of a command');
});
