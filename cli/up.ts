// `wgp2p up <file> [--interface NAME]`: run a tunnel from a wg-quick style file until signalled.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigError, parseWgQuick } from '../agent/config/wg-quick.js';
import { TEST_HOOKS_ENV } from '../agent/daemon/batch-udp-socket.js';
import type { ControlHandler } from '../agent/daemon/control-socket.js';
import { QuickTunnel, STOPPED_BY_DOWN } from '../agent/daemon/quick-tunnel.js';
import type { Tunnel } from '../agent/daemon/tunnel.js';
import { DNS_METHODS, type DnsMethod } from '../agent/tun/dns-config.js';
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

  const dnsMethod = env.WGP2P_DNS_METHOD ?? 'auto';
  if (!(DNS_METHODS as readonly string[]).includes(dnsMethod)) throw new UsageError(`WGP2P_DNS_METHOD must be one of ${DNS_METHODS.join(', ')}`);

  let started: Tunnel | undefined;
  const tunnel = await QuickTunnel.start({ ifname, config, log, limits: testLimits(env), dnsMethod: dnsMethod as DnsMethod | 'auto', controlHandlers: testHandlers(env, () => started) });
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

/** Test-only knobs that shorten the protocol's limits so rekeying can be exercised quickly. */
function testLimits(env: NodeJS.ProcessEnv) {
  const limits: Partial<ProtocolLimits> = {};
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
