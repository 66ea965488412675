// `wgp2p up <file> [--interface NAME]`: run a tunnel from a wg-quick style file until signalled.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseWgQuick } from '../agent/config/wg-quick.js';
import { TEST_HOOKS_ENV } from '../agent/daemon/batch-udp-socket.js';
import type { ControlHandler } from '../agent/daemon/control-socket.js';
import { QuickTunnel, STOPPED_BY_DOWN } from '../agent/daemon/quick-tunnel.js';
import type { Tunnel } from '../agent/daemon/tunnel.js';
import { DNS_METHODS, type DnsMethod } from '../agent/tun/dns-config.js';
import { LOG_OPTIONS } from '../shared/config/log-options.js';
import type { Option } from '../shared/config/options.js';
import { commandArgs } from './command-args.js';
import { ConfigError } from '../shared/errors.js';
import { createLogger } from '../shared/log.js';
import { isInterfaceName, parseInterfaceName } from './interface-name.js';
import type { ProtocolLimits } from '../agent/wireguard/peer.js';

const USAGE = 'usage: wgp2p up <config-file> [--interface NAME] [--log-level L] [--log-format F]';

const UP_OPTIONS = {
  // Not from WGP2P_INTERFACE: that variable is meant for `wgp2p join`.
  interface: { parse: parseInterfaceName, noEnv: true, value: 'NAME', help: 'the TUN device (default: the file name without .conf)' },
  ...LOG_OPTIONS,
} satisfies Record<string, Option<unknown>>;

export async function runUp(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = commandArgs(UP_OPTIONS, argv, USAGE, { env, positional: { min: 1, max: 1 } });
  if (!args) return 0;
  const file = args.positional[0]!;
  const log = createLogger({ component: 'tunnel', level: args.values.logLevel, format: args.values.logFormat });
  const ifname = args.values.interface ?? basename(file).replace(/\.conf$/, '');
  if (!isInterfaceName(ifname)) throw new ConfigError('usage', `interface name "${ifname}" is invalid (1–15 of A-Z a-z 0-9 _=+.-); choose one with --interface`);

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('bad_file', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let config;
  try {
    config = parseWgQuick(text);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(e.code, `${file}: ${e.message}`, e.where);
    throw e;
  }
  if (config.ignored.length > 0) log.warn('ignoring wg-quick keys this tool does not act on', { keys: config.ignored });

  const dnsMethod = env.WGP2P_DNS_METHOD ?? 'auto';
  if (!(DNS_METHODS as readonly string[]).includes(dnsMethod)) throw new ConfigError('bad_value', `WGP2P_DNS_METHOD must be one of ${DNS_METHODS.join(', ')}`, 'WGP2P_DNS_METHOD');

  let started: Tunnel | undefined;
  const tunnel = await QuickTunnel.start({ ifname, config, log, limits: testLimits(env, (msg) => log.warn(msg)), dnsMethod: dnsMethod as DnsMethod | 'auto', controlHandlers: testHandlers(env, () => started) });
  started = tunnel.tunnel;
  return await new Promise<number>((resolve) => {
    const stop = (sig: string) => void tunnel.stop(`signal ${sig}`);
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    tunnel.onStopped((reason) => resolve(reason.startsWith('signal') || reason === 'control socket removed' || reason === STOPPED_BY_DOWN ? 0 : 1));
  });
}

/**
 * Test-only control operations, with WGP2P_TEST_HOOKS=1 (which also gives the addon its hooks):
 * `{"op": "test-udp-poll-error", "errno": 5}` makes the UDP socket's poll fail as libuv would.
 */
function testHandlers(env: NodeJS.ProcessEnv, tunnel: () => Tunnel | undefined): Record<string, ControlHandler> {
  if (env[TEST_HOOKS_ENV] !== '1') return {};
  return {
    'test-udp-poll-error': (req) => {
      const t = tunnel();
      if (!t) throw new Error('the tunnel is not up yet');
      if (typeof req.errno !== 'number') throw new Error('errno must be a number');
      t.injectUdpPollError(req.errno);
      return { injected: req.errno };
    },
  };
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
    if (!/^\d+$/.test(v)) throw new ConfigError('bad_value', `${name} must be a whole number`, name);
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
