#!/usr/bin/env node
// The `wgp2p` command: dispatches subcommands (their table is in commands.ts) and turns every
// failure into one clear line.
import { ConfigError } from '../shared/errors.js';
import { findCommand, USAGE } from './commands.js';

const HELP = new Set(['help', '--help', '-h']);

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || HELP.has(cmd)) {
    process.stdout.write(USAGE);
    return cmd === undefined ? 1 : 0;
  }
  const command = findCommand(cmd);
  if (!command) throw new ConfigError('usage', `unknown command "${cmd}"\n${USAGE}`);
  if (command.noArgs && rest.length > 0) throw new ConfigError('usage', `usage: wgp2p ${cmd}`);
  return command.run(rest, process.env);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as Error;
    process.stderr.write(`wgp2p: ${e instanceof ConfigError ? '' : 'error: '}${e.message}\n`);
    process.exitCode = e instanceof ConfigError ? 2 : 1;
  },
);
