// --log-level and --log-format, declared once for every command that logs.
import { isLogFormat, isLogLevel, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../log.js';
import { badValue } from './values.js';
import type { Option } from './options.js';

const or = (words: readonly string[]) => `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;

export const LOG_OPTIONS = {
  logLevel: {
    parse(raw: unknown, where: string): LogLevel {
      if (!isLogLevel(raw)) throw badValue(where, `expected ${or(LOG_LEVELS)}`);
      return raw;
    },
    value: 'L',
    help: `${LOG_LEVELS.join('|')} (default info)`,
  },
  logFormat: {
    parse(raw: unknown, where: string): LogFormat {
      if (!isLogFormat(raw)) throw badValue(where, `expected ${or(LOG_FORMATS)}`);
      return raw;
    },
    value: 'F',
    help: `${LOG_FORMATS.join('|')} (default: text on a terminal, else json)`,
  },
} satisfies Record<string, Option<unknown>>;
