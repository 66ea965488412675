// Server configuration: documented defaults, then an optional JSON config file, then WGP2P_*
// environment variables, then command-line flags (each overriding the one before).
import { parseIp } from '../shared/net/ip-bytes.js';
import { MAX_TOKEN_LENGTH } from '../shared/signal/index.js';
import { isLogFormat, isLogLevel, type LogFormat, type LogLevel } from '../shared/log.js';

export interface Limits {
  /** Largest WebSocket frame accepted; larger ones close the connection with 1009. */
  maxFrameBytes: number;
  /** Open WebSocket connections per server. */
  maxConnections: number;
  /** Open WebSocket connections per client address (IPv6: per /64). */
  maxConnectionsPerIp: number;
  /** Open WebSocket connections per IPv4 /24 or IPv6 /56 (many addresses of one network). */
  maxConnectionsPerSubnet: number;
  /** New connections per second per client address, and the burst allowed above that rate. */
  connectRatePerIp: number;
  connectBurstPerIp: number;
  /** Frames per second per connection, and the burst; excess frames are dropped. */
  messageRate: number;
  messageBurst: number;
  /** Frames per second over all connections from one address (IPv6: /64), and the burst. */
  addressMessageRate: number;
  addressMessageBurst: number;
  /** Malformed or rate-limited frames tolerated in a short time before closing with 1008. */
  maxStrikes: number;
  /** One strike is forgiven per this many milliseconds. */
  strikeForgiveMs: number;
  maxMembersPerRoom: number;
  maxRooms: number;
  maxRoomsPerConnection: number;
  /**
   * Bytes per second one connection may have the server fan out (an announcement times the
   * members it goes to), and the burst: joining and updating cost what they make us send.
   */
  fanoutBytesPerSecond: number;
  fanoutBurstBytes: number;
  /** WebSocket ping period; a connection that missed the previous pong is dropped. */
  pingIntervalMs: number;
  /** Bytes queued toward one client before it is considered a slow reader and dropped. */
  sendBufferBytes: number;
  /** Time for a TCP connection to complete its HTTP request or WebSocket upgrade. */
  handshakeTimeoutMs: number;
  /** Time for a new WebSocket to send hello. */
  helloTimeoutMs: number;
  /** STUN requests per second per source address, and the burst. */
  stunRatePerIp: number;
  stunBurstPerIp: number;
  /** How long shutdown waits for clients to acknowledge the close before cutting them off. */
  shutdownGraceMs: number;
  /** Relayed bytes per second per member (UDP relay and WebSocket relay), and the burst. */
  relayBytesPerSecond: number;
  relayBurstBytes: number;
  /** Relayed bytes per second of all members sending from one address (IPv6: /64), and the burst. */
  addressRelayBytesPerSecond: number;
  addressRelayBurstBytes: number;
}

export interface ServerConfig extends Limits {
  listenHost: string;
  listenPort: number;
  /** Address for the STUN sockets; null means the listen host. */
  stunHost: string | null;
  /** null disables STUN; 0 picks a free port (tests). */
  stunPort: number | null;
  /** A second STUN port for RFC 5780 behaviour discovery; null disables it. */
  stunAltPort: number | null;
  /** The server's public IP as clients see it, for OTHER-ADDRESS / RESPONSE-ORIGIN. */
  stunPublicIp: string | null;
  /** When set, hello must carry this token. */
  token: string | null;
  tlsCert: string | null;
  tlsKey: string | null;
  logLevel: LogLevel;
  /** JSON lines, or human lines; default: text on a terminal, JSON otherwise. */
  logFormat: LogFormat | undefined;
  /** Runs the UDP packet relay for members that cannot reach each other directly. */
  relay: boolean;
  /** The UDP relay's port; 0 picks a free port (tests). */
  relayPort: number;
  /** Address for the UDP relay socket; null means the STUN host, else the listen host. */
  relayHost: string | null;
  /** Relays WireGuard packets in binary WebSocket frames (for members whose UDP is blocked). */
  wsRelay: boolean;
}

export const DEFAULT_LIMITS: Limits = {
  maxFrameBytes: 16 * 1024,
  maxConnections: 20_000,
  maxConnectionsPerIp: 128,
  maxConnectionsPerSubnet: 512,
  connectRatePerIp: 10,
  connectBurstPerIp: 50,
  messageRate: 20,
  messageBurst: 100,
  // Many agents can share one NAT address, so this is a multiple of the per-connection budget,
  // yet far below what maxConnectionsPerIp connections could send on their own budgets.
  addressMessageRate: 200,
  addressMessageBurst: 2_000,
  maxStrikes: 10,
  strikeForgiveMs: 6_000,
  maxMembersPerRoom: 64,
  maxRooms: 10_000,
  maxRoomsPerConnection: 4,
  fanoutBytesPerSecond: 64 * 1024,
  fanoutBurstBytes: 1024 * 1024, // a join to a full room of full announcements fits
  pingIntervalMs: 30_000,
  sendBufferBytes: 512 * 1024, // above the largest members frame (63 full announcements, ~350 KB)
  handshakeTimeoutMs: 10_000,
  helloTimeoutMs: 10_000,
  stunRatePerIp: 20,
  stunBurstPerIp: 40,
  shutdownGraceMs: 2_000,
  relayBytesPerSecond: 25_000_000, // 200 Mbit/s
  relayBurstBytes: 4_000_000,
  addressRelayBytesPerSecond: 100_000_000, // 800 Mbit/s: a few members behind one NAT at full speed
  addressRelayBurstBytes: 16_000_000,
};

export const DEFAULT_CONFIG: ServerConfig = {
  ...DEFAULT_LIMITS,
  listenHost: '0.0.0.0',
  listenPort: 8080,
  stunHost: null,
  stunPort: 3478,
  stunAltPort: null,
  stunPublicIp: null,
  token: null,
  tlsCert: null,
  tlsKey: null,
  logLevel: 'info',
  logFormat: undefined,
  relay: false,
  relayPort: 3480,
  relayHost: null,
  wsRelay: true,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type TextKey = 'tlsCert' | 'tlsKey';
type IpKey = 'stunHost' | 'stunPublicIp' | 'relayHost';
type PortKey = 'stunPort' | 'stunAltPort';
type BoolKey = 'relay' | 'wsRelay';

type OptionSpec =
  | { kind: 'listen'; key: 'listen' }
  | { kind: 'level'; key: 'logLevel' }
  | { kind: 'format'; key: 'logFormat' }
  | { kind: 'token'; key: 'token' }
  | { kind: 'text'; key: TextKey }
  | { kind: 'ip'; key: IpKey }
  | { kind: 'port'; key: PortKey }
  | { kind: 'fixedPort'; key: 'relayPort' }
  | { kind: 'bool'; key: BoolKey }
  | { kind: 'limit'; key: keyof Limits };

const LIMIT_KEYS = Object.keys(DEFAULT_LIMITS) as (keyof Limits)[];

/** Every option, by its config-file name; flags are --kebab-case, environment WGP2P_SNAKE_CASE. */
export const OPTIONS: readonly OptionSpec[] = [
  { kind: 'listen', key: 'listen' },
  { kind: 'port', key: 'stunPort' },
  { kind: 'port', key: 'stunAltPort' },
  { kind: 'ip', key: 'stunHost' },
  { kind: 'ip', key: 'stunPublicIp' },
  { kind: 'token', key: 'token' },
  { kind: 'text', key: 'tlsCert' },
  { kind: 'text', key: 'tlsKey' },
  { kind: 'level', key: 'logLevel' },
  { kind: 'format', key: 'logFormat' },
  { kind: 'bool', key: 'relay' },
  { kind: 'fixedPort', key: 'relayPort' },
  { kind: 'ip', key: 'relayHost' },
  { kind: 'bool', key: 'wsRelay' },
  ...LIMIT_KEYS.map((key) => ({ kind: 'limit' as const, key })),
];

export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export function envName(key: string): string {
  return `WGP2P_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** "host:port", "[v6]:port" or ":port" (all interfaces). */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function asText(raw: unknown, where: string): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number') return String(raw);
  throw new ConfigError(`${where}: expected a string`);
}

function parsePort(raw: unknown, where: string): number | null {
  if (raw === null || raw === 'off') return null;
  const text = asText(raw, where);
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new ConfigError(`${where}: expected a port or "off"`);
  return Number(text);
}

/** A port that cannot be switched off (the relay is switched with --relay). */
function parseFixedPort(raw: unknown, where: string): number {
  const text = asText(raw, where);
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new ConfigError(`${where}: expected a port`);
  return Number(text);
}

const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

export function isBoolWord(text: string): boolean {
  const t = text.toLowerCase();
  return TRUE_WORDS.includes(t) || FALSE_WORDS.includes(t);
}

function parseBool(raw: unknown, where: string): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const t = raw.toLowerCase();
    if (TRUE_WORDS.includes(t)) return true;
    if (FALSE_WORDS.includes(t)) return false;
  }
  throw new ConfigError(`${where}: expected true or false`);
}

const MAX_LIMIT = 2 ** 31 - 1;

function parseLimit(raw: unknown, where: string): number {
  const text = asText(raw, where);
  // Capped at the largest delay setTimeout honours; beyond it Node fires after 1 ms instead.
  if (!/^\d{1,10}$/.test(text) || Number(text) < 1 || Number(text) > MAX_LIMIT) {
    throw new ConfigError(`${where}: expected an integer from 1 to ${MAX_LIMIT}`);
  }
  return Number(text);
}

function apply(config: ServerConfig, spec: OptionSpec, raw: unknown, where: string): void {
  switch (spec.kind) {
    case 'listen': {
      const hp = parseHostPort(asText(raw, where));
      if (!hp) throw new ConfigError(`${where}: expected HOST:PORT`);
      config.listenHost = hp.host;
      config.listenPort = hp.port;
      return;
    }
    case 'level': {
      if (!isLogLevel(raw)) throw new ConfigError(`${where}: expected debug, info, warn, error or silent`);
      config.logLevel = raw;
      return;
    }
    case 'format': {
      if (!isLogFormat(raw)) throw new ConfigError(`${where}: expected text or json`);
      config.logFormat = raw;
      return;
    }
    case 'text':
      config[spec.key] = raw === null ? null : asText(raw, where);
      return;
    case 'ip': {
      // Checked here: a typo would otherwise surface as a silently missing OTHER-ADDRESS.
      const text = raw === null ? null : asText(raw, where);
      if (text !== null && !parseIp(text)) throw new ConfigError(`${where}: expected an IP address`);
      config[spec.key] = text;
      return;
    }
    case 'token': {
      // The token must fit in hello, or no agent could ever be let in.
      const text = raw === null ? null : asText(raw, where);
      if (text !== null && (text.length < 1 || text.length > MAX_TOKEN_LENGTH)) {
        throw new ConfigError(`${where}: expected 1-${MAX_TOKEN_LENGTH} characters`);
      }
      config.token = text;
      return;
    }
    case 'port':
      config[spec.key] = parsePort(raw, where);
      return;
    case 'fixedPort':
      config[spec.key] = parseFixedPort(raw, where);
      return;
    case 'bool':
      config[spec.key] = parseBool(raw, where);
      return;
    case 'limit':
      config[spec.key] = parseLimit(raw, where);
      return;
  }
}

export interface CliArgs {
  help: boolean;
  configFile?: string;
  /** Flag values in order, keyed by option name. */
  flags: Map<string, string>;
}

/**
 * Boolean options take an optional value: `--relay`, `--relay=false`, `--relay no`; and
 * `--no-relay` / `--no-ws-relay` switch them off.
 */
export function parseArgs(argv: readonly string[]): CliArgs {
  const byFlag = new Map(OPTIONS.map((o) => [flagName(o.key), o.key]));
  const booleans = new Set<string>(OPTIONS.filter((o) => o.kind === 'bool').map((o) => o.key));
  const out: CliArgs = { help: false, flags: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    let value = eq > 0 ? arg.slice(eq + 1) : undefined;
    const negated = name.startsWith('--no-') ? byFlag.get(`--${name.slice(5)}`) : undefined;
    if (negated !== undefined && booleans.has(negated)) {
      if (value !== undefined) throw new ConfigError(`${name} takes no value`);
      out.flags.set(negated, 'false');
      continue;
    }
    if (name !== '--config' && !byFlag.has(name)) throw new ConfigError(`unknown option ${name}`);
    const key = byFlag.get(name);
    if (value === undefined && key !== undefined && booleans.has(key)) {
      const next = argv[i + 1];
      value = next !== undefined && isBoolWord(next) ? argv[++i]! : 'true';
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new ConfigError(`${name} needs a value`);
    }
    if (name === '--config') out.configFile = value;
    else out.flags.set(byFlag.get(name)!, value);
  }
  return out;
}

/** Merges defaults < config file < environment < flags into one validated configuration. */
export function resolveConfig(args: CliArgs, env: NodeJS.ProcessEnv, fileText?: string): ServerConfig {
  const config: ServerConfig = { ...DEFAULT_CONFIG };
  const specs = new Map<string, OptionSpec>(OPTIONS.map((o) => [o.key, o]));
  if (fileText !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fileText);
    } catch {
      throw new ConfigError('config file is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError('config file must hold a JSON object');
    }
    for (const [key, value] of Object.entries(parsed)) {
      const spec = specs.get(key);
      if (!spec) throw new ConfigError(`config file: unknown key ${JSON.stringify(key)}`);
      apply(config, spec, value, `config file ${key}`);
    }
  }
  for (const spec of OPTIONS) {
    const value = env[envName(spec.key)];
    if (value !== undefined && value !== '') apply(config, spec, value, envName(spec.key));
  }
  for (const [key, value] of args.flags) apply(config, specs.get(key)!, value, flagName(key));
  if ((config.tlsCert === null) !== (config.tlsKey === null)) {
    throw new ConfigError('--tls-cert and --tls-key go together');
  }
  if (config.stunAltPort !== null && config.stunAltPort !== 0 && config.stunAltPort === config.stunPort) {
    throw new ConfigError('--stun-alt-port must differ from --stun-port');
  }
  const stunHost = config.stunHost ?? config.listenHost;
  if (config.relay && config.relayPort !== 0 && (config.relayHost ?? stunHost) === stunHost) {
    // Only when both bind one address: a relay on another address may reuse the number.
    if (config.relayPort === config.stunPort) throw new ConfigError('--relay-port must differ from --stun-port');
    if (config.relayPort === config.stunAltPort) throw new ConfigError('--relay-port must differ from --stun-alt-port');
  }
  return config;
}

export function usage(): string {
  const lines = [
    'Usage: wgp2p server [options]',
    '',
    'Signalling (WebSocket at /ws, GET /healthz, GET /metrics), STUN server and packet relay',
    '(UDP with --relay; binary WebSocket frames unless --no-ws-relay). Boolean options take an',
    'optional true/false (--relay, --relay false, --no-relay).',
    'Each option can also be set as an environment variable or a key of a JSON file given with',
    '--config FILE; flags win over the environment, which wins over the file.',
    '',
  ];
  const shown: Record<string, string> = {
    listen: `HOST:PORT (default ${DEFAULT_CONFIG.listenHost}:${DEFAULT_CONFIG.listenPort})`,
    stunPort: `PORT|off (default ${DEFAULT_CONFIG.stunPort})`,
    stunAltPort: 'PORT|off (default off; enables RFC 5780 discovery)',
    stunHost: 'IP (default: the listen host)',
    stunPublicIp: 'IP advertised in OTHER-ADDRESS/RESPONSE-ORIGIN',
    token: 'T (agents must present it in hello)',
    tlsCert: 'FILE (PEM; with --tls-key serves https/wss)',
    tlsKey: 'FILE',
    logLevel: 'debug|info|warn|error|silent (default info)',
    logFormat: 'text|json (default: text on a terminal, else json)',
    relay: '[true|false] run the UDP packet relay (default off)',
    relayPort: `PORT (default ${DEFAULT_CONFIG.relayPort}; UDP, with --relay)`,
    relayHost: 'IP (default: the STUN host, else the listen host)',
    wsRelay: '[true|false] relay packets over the WebSocket (default on; --no-ws-relay)',
    relayBytesPerSecond: `N relayed bytes/s per member (default ${DEFAULT_LIMITS.relayBytesPerSecond})`,
    relayBurstBytes: `N relayed bytes of burst per member (default ${DEFAULT_LIMITS.relayBurstBytes})`,
  };
  for (const o of OPTIONS) {
    const what = shown[o.key] ?? `N (default ${DEFAULT_LIMITS[o.key as keyof Limits]})`;
    lines.push(`  ${flagName(o.key).padEnd(28)} ${envName(o.key).padEnd(32)} ${what}`);
  }
  lines.push(`  ${'--config FILE'.padEnd(28)} ${''.padEnd(32)} JSON object with the keys above in camelCase`);
  return `${lines.join('\n')}\n`;
}
