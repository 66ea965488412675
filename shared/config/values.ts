// Value parsers for options: each takes what a flag, a variable (text) or a JSON config file
// (text, number, boolean or null) gave, and throws a ConfigError naming `where` when it is wrong.
import { ConfigError } from '../errors.js';

export function badValue(where: string, expected: string): ConfigError {
  return new ConfigError('bad_value', `${where}: ${expected}`, where);
}

/** Text as given; a JSON number counts as its decimal text. */
export function asText(raw: unknown, where: string): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number') return String(raw);
  throw badValue(where, 'expected a string');
}

const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

export function isBoolWord(text: string): boolean {
  const t = text.toLowerCase();
  return TRUE_WORDS.includes(t) || FALSE_WORDS.includes(t);
}

export function parseBool(raw: unknown, where: string): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const t = raw.toLowerCase();
    if (TRUE_WORDS.includes(t)) return true;
    if (FALSE_WORDS.includes(t)) return false;
  }
  throw badValue(where, 'expected true or false');
}

/** A parser for whole numbers from min to max (decimal digits only: no sign, no exponent). */
export function integer(min: number, max: number): (raw: unknown, where: string) => number {
  return (raw, where) => {
    const text = asText(raw, where);
    if (!/^\d{1,10}$/.test(text) || Number(text) < min || Number(text) > max) {
      throw badValue(where, `expected an integer from ${min} to ${max}, got "${text}"`);
    }
    return Number(text);
  };
}
