// The one option parser of every command. Options are declared once, by their camelCase name
// (the key in a JSON config file); the flag is --kebab-case and the variable WGP2P_SNAKE_CASE.
// Values come from the file, then the environment, then flags, each overriding the one before.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { isBoolWord } from './values.js';

export interface Option<T> {
  /** Turns a flag's or variable's text, or a JSON value from the file, into T; throws naming `where`. */
  parse(raw: unknown, where: string): T;
  /** A switch: `--x`, `--x=false`, `--x no`, and `--no-x`. */
  boolean?: true;
  /** Placeholder for the value in help ("PORT"). */
  value?: string;
  /** Help text; further lines after "\n". */
  help: string;
  /** The value when neither flag, variable nor file sets it. */
  default?: T;
  /** Not read from the environment (a name other commands' variables would also hit). */
  noEnv?: true;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Options = Record<string, Option<any>>;

type ValueOf<O> = O extends Option<infer T> ? T : never;

/** Options with a default always have a value; the others may be undefined. */
export type OptionValues<O extends Options> = {
  [K in keyof O]: O[K] extends { default: unknown } ? ValueOf<O[K]> : ValueOf<O[K]> | undefined;
};

export type OptionSource = 'file' | 'env' | 'flag';

export interface ParsedArgv {
  help: boolean;
  /** The file given with --config. */
  configFile?: string;
  /** Arguments that are not flags (and all after "--"); each command decides what they mean. */
  positional: string[];
  /** Flag texts by option name; a later flag replaced an earlier one. */
  flags: Map<string, string>;
}

export interface Resolved<O extends Options> {
  values: OptionValues<O>;
  /** Where each value that is not a default came from. */
  sources: { [K in keyof O]?: OptionSource };
}

export function flagName(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export function envName(name: string): string {
  return `WGP2P_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** The variable naming a config file when --config does not. */
export const CONFIG_ENV = 'WGP2P_CONFIG';

/**
 * Splits argv into flags, positionals, --help and --config (when `configFlag`). Values are only
 * checked by resolveOptions; here an unknown flag or a missing value is the error.
 */
export function parseArgv(argv: readonly string[], options: Options, configFlag = true): ParsedArgv {
  const byFlag = new Map(Object.keys(options).map((name) => [flagName(name), name]));
  const out: ParsedArgv = { help: false, positional: [], flags: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    if (arg === '--') {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      out.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    let value = eq > 0 ? arg.slice(eq + 1) : undefined;
    const negated = flag.startsWith('--no-') ? byFlag.get(`--${flag.slice(5)}`) : undefined;
    if (negated !== undefined && options[negated]!.boolean) {
      if (value !== undefined) throw new ConfigError('unexpected_value', `${flag} takes no value`, flag);
      out.flags.set(negated, 'false');
      continue;
    }
    const name = byFlag.get(flag);
    const isConfig = configFlag && flag === '--config';
    if (name === undefined && !isConfig) throw new ConfigError('unknown_option', `unknown option ${flag}`, flag);
    if (value === undefined && name !== undefined && options[name]!.boolean) {
      // A boolean takes the next argument only when it is a yes/no word: `--relay --x` is two flags.
      const next = argv[i + 1];
      value = next !== undefined && isBoolWord(next) ? argv[++i]! : 'true';
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new ConfigError('missing_value', `${flag} needs a value`, flag);
    }
    if (name === undefined) out.configFile = value;
    else out.flags.set(name, value);
  }
  return out;
}

/** The text of a config file, or undefined for none; a file that cannot be read is an error. */
export function readConfigFile(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('bad_file', `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, path);
  }
}

function fileEntries(fileText: string): [string, unknown][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fileText);
  } catch {
    throw new ConfigError('bad_file', 'config file is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('bad_file', 'config file must hold a JSON object');
  }
  return Object.entries(parsed);
}

function parseOne<T>(option: Option<T>, raw: unknown, where: string): T {
  try {
    return option.parse(raw, where);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // Parsers shared with non-option code throw plain Errors; name the source here.
    throw new ConfigError('bad_value', `${where}: ${(err as Error).message}`, where);
  }
}

/**
 * Validates every value of every layer (a bad variable is an error even when a flag overrides
 * it) and merges them: defaults < file < environment < flags. Without `env` no variable is read.
 */
export function resolveOptions<O extends Options>(options: O, args: ParsedArgv, env?: NodeJS.ProcessEnv, fileText?: string): Resolved<O> {
  const values: Record<string, unknown> = {};
  const sources: Record<string, OptionSource> = {};
  for (const [name, option] of Object.entries(options)) if (option.default !== undefined) values[name] = option.default;
  const set = (name: string, raw: unknown, where: string, source: OptionSource) => {
    values[name] = parseOne(options[name]!, raw, where);
    sources[name] = source;
  };
  if (fileText !== undefined) {
    for (const [key, raw] of fileEntries(fileText)) {
      // Own keys only: "__proto__" or "toString" must not reach an option.
      if (!Object.hasOwn(options, key)) throw new ConfigError('unknown_key', `config file: unknown key ${JSON.stringify(key)}`, key);
      set(key, raw, `config file ${key}`, 'file');
    }
  }
  if (env) {
    for (const [name, option] of Object.entries(options)) {
      const raw = option.noEnv ? undefined : env[envName(name)];
      // An empty variable counts as unset, as shells make it easy to leave one empty.
      if (raw !== undefined && raw !== '') set(name, raw, envName(name), 'env');
    }
  }
  for (const [name, raw] of args.flags) set(name, raw, flagName(name), 'flag');
  return { values: values as OptionValues<O>, sources: sources as Resolved<O>['sources'] };
}

export interface LoadSettings {
  /** Reads WGP2P_* variables (and WGP2P_CONFIG) from here; none when absent. */
  env?: NodeJS.ProcessEnv;
  /** Accepts --config FILE. */
  configFile?: boolean;
}

export type Loaded<O extends Options> = { help: true } | (Resolved<O> & ParsedArgv & { help: false });

/** parseArgv, then (unless --help) the config file (--config, else WGP2P_CONFIG) and resolveOptions. */
export function loadOptions<O extends Options>(options: O, argv: readonly string[], settings: LoadSettings): Loaded<O> {
  const args = parseArgv(argv, options, settings.configFile ?? false);
  if (args.help) return { help: true };
  const path = settings.configFile ? (args.configFile ?? settings.env?.[CONFIG_ENV]) : undefined;
  return { ...args, help: false, ...resolveOptions(options, args, settings.env, readConfigFile(path)) };
}
