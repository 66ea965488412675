// The one logger of every wgp2p command: JSON lines for machines (under a service manager, in a
// pipe, or with --log-format json) and short human lines on a terminal. Filtered by level.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** The logger createLogger makes: its level can change while it runs (SIGHUP, say). */
export interface AdjustableLogger extends Logger {
  readonly level: LogLevel;
  setLevel(level: LogLevel): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Names the part that logs (`join`, `tunnel`, ...); the server logs without one. */
  component?: string;
  /** Default: `defaultLogFormat()`. */
  format?: LogFormat;
  write?: (line: string) => void;
}

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v);
}

export function isLogFormat(v: unknown): v is LogFormat {
  return typeof v === 'string' && (LOG_FORMATS as readonly string[]).includes(v);
}

/**
 * Human lines only for a person at a terminal: systemd sets JOURNAL_STREAM / INVOCATION_ID for
 * its services, and a pipe or a file means another program reads the lines.
 */
export function defaultLogFormat(env: NodeJS.ProcessEnv = process.env, isTty = process.stderr.isTTY === true): LogFormat {
  if (env.JOURNAL_STREAM || env.INVOCATION_ID) return 'json';
  return isTty ? 'text' : 'json';
}

export function createLogger(o: LoggerOptions = {}): AdjustableLogger {
  let level: LogLevel = o.level ?? 'info';
  let threshold = LOG_LEVELS.indexOf(level);
  const format = o.format ?? defaultLogFormat();
  const write = o.write ?? ((l: string) => process.stderr.write(l));
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    write(format === 'json' ? jsonLine(lvl, o.component, msg, fields) : textLine(lvl, o.component, msg, fields));
  };
  return {
    get level() {
      return level;
    },
    setLevel(next: LogLevel) {
      level = next;
      threshold = LOG_LEVELS.indexOf(next);
    },
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}

export const silentLogger: Logger = createLogger({ level: 'silent' });

function jsonLine(level: string, component: string | undefined, msg: string, fields: LogFields | undefined): string {
  const record: Record<string, unknown> = { time: new Date().toISOString(), level };
  if (component !== undefined) record.component = component;
  record.msg = msg;
  // Fields never overwrite time, level, component or msg.
  for (const [k, v] of Object.entries(fields ?? {})) if (!(k in record)) record[k] = v;
  return `${JSON.stringify(record)}\n`;
}

function textLine(level: string, component: string | undefined, msg: string, fields: LogFields | undefined): string {
  const time = new Date().toISOString().slice(11, 23);
  const parts = [time, level.toUpperCase().padEnd(5), component ? `${component}: ${msg}` : msg];
  for (const [k, v] of Object.entries(fields ?? {})) if (v !== undefined) parts.push(`${k}=${textValue(v)}`);
  return `${parts.join(' ')}\n`;
}

function textValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}
