// `wgp2p up <file> [--interface NAME]`: run a tunnel from a wg-quick style file until signalled.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigError, parseWgQuick } from '../agent/config/wg-quick.js';
import { Tunnel } from '../agent/daemon/tunnel.js';
import { createLogger, parseLogFormat, parseLogLevel } from '../shared/log.js';
import { parseArgs, UsageError } from './args.js';
import type { ProtocolLimits } from '../agent/wireguard/peer.js';

const IFNAME = /^[A-Za-z0-9_=+.-]{1,15}$/;

export async function runUp(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = parseArgs(argv, { values: ['interface', 'log-level', 'log-format'] });
  const file = args.positional[0];
  if (!file || args.positional.length > 1) throw new UsageError('usage: wgp2p up <config-file> [--interface NAME]');
  let log;
  try {
    log = createLogger({ component: 'tunnel', level: parseLogLevel(args.values.get('log-level') ?? env.WGP2P_LOG_LEVEL), format: parseLogFormat(args.values.get('log-format') ?? env.WGP2P_LOG_FORMAT) });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const ifname = args.values.get('interface') ?? basename(file).replace(/\.conf$/, '');
  if (!IFNAME.test(ifname)) throw new UsageError(`interface name "${ifname}" is invalid (1–15 of A-Z a-z 0-9 _=+.-); choose one with --interface`);

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let config;
  try {
    config = parseWgQuick(text);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
  if (config.ignored.length > 0) log.warn('ignoring wg-quick keys this tool does not act on', { keys: config.ignored });

  const tunnel = await Tunnel.start({ ifname, config, log, limits: testLimits(env, (msg) => log.warn(msg)) });
  return await new Promise<number>((resolve) => {
    const stop = (sig: string) => tunnel.close(`signal ${sig}`);
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    tunnel.onClosed((reason) => resolve(reason.startsWith('signal') || reason === 'control socket removed' ? 0 : 1));
  });
}

/** The switch that lets the test-only knobs below work; production never sets both. */
export function testHooksEnabled(env: NodeJS.ProcessEnv): boolean {
  return env.NODE_ENV === 'test' && env.WGP2P_TEST_HOOKS === '1';
}

/**
 * Test-only knobs that shorten the protocol's limits so rekeying can be exercised quickly.
 * Honoured only with NODE_ENV=test and WGP2P_TEST_HOOKS=1: a stray variable in a production
 * environment must not weaken the protocol.
 */
export function testLimits(env: NodeJS.ProcessEnv, warn: (msg: string) => void = () => undefined) {
  const limits: Partial<ProtocolLimits> = {};
  if (!testHooksEnabled(env)) {
    const stray = Object.keys(env).filter((k) => k.startsWith('WGP2P_TEST_') && k !== 'WGP2P_TEST_HOOKS');
    if (stray.length > 0) warn(`ignoring ${stray.join(', ')}: test-only (needs NODE_ENV=test and WGP2P_TEST_HOOKS=1)`);
    return limits;
  }
  const num = (name: string) => {
    const v = env[name];
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new UsageError(`${name} must be a whole number`);
    return Number(v);
  };
  const m = num('WGP2P_TEST_REKEY_AFTER_MESSAGES');
  if (m !== undefined) limits.rekeyAfterMessages = m;
  const t = num('WGP2P_TEST_REKEY_AFTER_TIME_MS');
  if (t !== undefined) limits.rekeyAfterTime = t;
  const r = num('WGP2P_TEST_REJECT_AFTER_TIME_MS');
  if (r !== undefined) limits.rejectAfterTime = r;
  const x = num('WGP2P_TEST_REJECT_AFTER_MESSAGES');
  if (x !== undefined) limits.rejectAfterMessages = x;
  return limits;
}
