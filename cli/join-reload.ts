// SIGHUP for `wgp2p join`: read the options again (config file, environment, the same flags),
// apply what can change live and name what needs a restart. A file that no longer parses is
// logged and changes nothing: the agent keeps running on the settings it has.
import { flagName, loadOptions, type Options, type Resolved } from '../shared/config/options.js';
import type { AdjustableLogger, LogLevel } from '../shared/log.js';

/** What a reload can change on the running agent. */
export interface LiveSettings {
  log: AdjustableLogger;
  setKeepalive(seconds: number): void;
}

/** Options applied without a restart; every other change waits for one. */
export const LIVE_OPTIONS = ['logLevel', 'keepalive'] as const;

const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/**
 * Re-reads the options and applies the live ones; returns the new options (or `current` when
 * they did not load). Logs one line for what was applied and one for what needs a restart.
 */
export function reloadOptions<O extends Options>(options: O, argv: readonly string[], env: NodeJS.ProcessEnv, current: Resolved<O>, live: LiveSettings): Resolved<O> {
  const log = live.log;
  let next: Resolved<O>;
  try {
    const loaded = loadOptions(options, argv, { env, configFile: true });
    if (loaded.help) return current;
    next = loaded;
  } catch (e) {
    log.error('SIGHUP: the options did not load; keeping the running settings', { error: (e as Error).message, code: (e as { code?: string }).code });
    return current;
  }
  const changed = Object.keys(options).filter((k) => JSON.stringify(current.values[k]) !== JSON.stringify(next.values[k]));
  const isLive = (k: string) => (LIVE_OPTIONS as readonly string[]).includes(k);
  const applied = changed.filter(isLive);
  const restart = changed.filter((k) => !isLive(k));
  const values = next.values as Record<string, unknown>;
  if (applied.includes('logLevel')) live.log.setLevel((values.logLevel as LogLevel | undefined) ?? DEFAULT_LOG_LEVEL);
  if (applied.includes('keepalive')) live.setKeepalive(values.keepalive as number);
  const show = (k: string) => `${flagName(k)}=${JSON.stringify(values[k] ?? null)}`;
  log.info('SIGHUP: options re-read', { applied: applied.map(show) });
  if (restart.length > 0) log.warn(`SIGHUP: changed options need a restart: ${restart.map(flagName).join(' ')}`, { options: restart.map(flagName) });
  // The restart-only options keep their running values, so the next reload names them again.
  const kept = { ...next.values } as Record<string, unknown>;
  for (const k of restart) kept[k] = current.values[k];
  return { values: kept as Resolved<O>['values'], sources: next.sources };
}

/** Reloads on every SIGHUP until the returned function is called. */
export function reloadOnSighup<O extends Options>(options: O, argv: readonly string[], env: NodeJS.ProcessEnv, loaded: Resolved<O>, live: LiveSettings): () => void {
  let current = loaded;
  const onHup = () => {
    current = reloadOptions(options, argv, env, current, live);
  };
  process.on('SIGHUP', onHup);
  return () => process.off('SIGHUP', onHup);
}
