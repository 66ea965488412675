// The start of every `wgp2p` command: its options loaded, --help answered with its usage, and a
// wrong count of arguments refused with it, so each command reads only what it means.
import { loadOptions, type LoadSettings, type Loaded, type Options } from '../shared/config/options.js';
import { ConfigError } from '../shared/errors.js';

export interface CommandArgsSettings extends LoadSettings {
  /** How many positional arguments the command takes (default: none). */
  positional?: { min?: number; max: number };
}

/** The command's arguments, or undefined once --help printed `usage` (the command then exits 0). */
export function commandArgs<O extends Options>(options: O, argv: readonly string[], usage: string, settings: CommandArgsSettings = {}): Exclude<Loaded<O>, { help: true }> | undefined {
  const args = loadOptions(options, argv, settings);
  if (args.help) {
    process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`);
    return undefined;
  }
  const { min = 0, max = 0 } = settings.positional ?? {};
  if (args.positional.length < min || args.positional.length > max) throw new ConfigError('usage', usage);
  return args;
}
