// Server configuration: documented defaults, then an optional JSON config file, then WGP2P_*
// environment variables, then command-line flags (each overriding the one before), all through
// the one option parser (shared/config/options.ts).
import { ConfigError } from '../shared/errors.js';
import { optionHelp } from '../shared/config/help.js';
import { LOG_OPTIONS } from '../shared/config/log-options.js';
import { parseArgv, resolveOptions, type Option, type ParsedArgv } from '../shared/config/options.js';
import { asText, badValue, integer, parseBool } from '../shared/config/values.js';
import { parseIp } from '../shared/net/ip-bytes.js';
import { parseHostPort, type HostPort } from '../shared/net/host-port.js';
import { MAX_TOKEN_LENGTH } from '../shared/signal/index.js';
import type { LogFormat, LogLevel } from '../shared/log.js';

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
  /** Distinct rooms the connections of one client address (IPv6: /64) may be in together. */
  maxRoomsPerIp: number;
  /** Distinct rooms the connections of one IPv4 /24 or IPv6 /56 may be in together. */
  maxRoomsPerSubnet: number;
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
  // Rooms, not memberships: an office of agents behind one address in one room holds one. With
  // these, filling maxRooms takes ~160 addresses or ~40 networks instead of ~20 addresses.
  maxRoomsPerIp: 64,
  maxRoomsPerSubnet: 256,
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

/** "host:port", "[v6]:port" or ":port" (all interfaces). */
export function parseListenAddress(text: string): HostPort | undefined {
  const hp = parseHostPort(text);
  return hp && { host: hp.host || '0.0.0.0', port: hp.port };
}

function parseListen(raw: unknown, where: string): HostPort {
  const hp = parseListenAddress(asText(raw, where));
  if (!hp) throw badValue(where, 'expected HOST:PORT');
  return hp;
}

function parsePortOrOff(raw: unknown, where: string): number | null {
  if (raw === null || raw === 'off') return null;
  const text = asText(raw, where);
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw badValue(where, 'expected a port or "off"');
  return Number(text);
}

/** A port that cannot be switched off (the relay is switched with --relay). */
function parsePort(raw: unknown, where: string): number {
  const text = asText(raw, where);
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw badValue(where, 'expected a port');
  return Number(text);
}

function parseText(raw: unknown, where: string): string | null {
  return raw === null ? null : asText(raw, where);
}

/** Checked here: a typo would otherwise surface as a silently missing OTHER-ADDRESS. */
function parseIpText(raw: unknown, where: string): string | null {
  const text = parseText(raw, where);
  if (text !== null && !parseIp(text)) throw badValue(where, 'expected an IP address');
  return text;
}

/** The token must fit in hello, or no agent could ever be let in. */
function parseToken(raw: unknown, where: string): string | null {
  const text = parseText(raw, where);
  if (text !== null && (text.length < 1 || text.length > MAX_TOKEN_LENGTH)) throw badValue(where, `expected 1-${MAX_TOKEN_LENGTH} characters`);
  return text;
}

// Capped at the largest delay setTimeout honours; beyond it Node fires after 1 ms instead.
const MAX_LIMIT = 2 ** 31 - 1;
const parseLimit = integer(1, MAX_LIMIT);

const LIMIT_HELP: Partial<Record<keyof Limits, string>> = {
  relayBytesPerSecond: 'relayed bytes/s per member',
  relayBurstBytes: 'relayed bytes of burst per member',
};

const LIMIT_OPTIONS = Object.fromEntries(
  (Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]).map((key) => [
    key,
    { parse: parseLimit, value: 'N', help: `${LIMIT_HELP[key] ? `${LIMIT_HELP[key]} ` : ''}(default ${DEFAULT_LIMITS[key]})` },
  ]),
) as Record<keyof Limits, Option<number>>;

/** Every option of `wgp2p server`, in the order of its help. */
export const SERVER_OPTIONS = {
  listen: { parse: parseListen, value: 'HOST:PORT', help: `(default ${DEFAULT_CONFIG.listenHost}:${DEFAULT_CONFIG.listenPort})` },
  stunPort: { parse: parsePortOrOff, value: 'PORT|off', help: `(default ${DEFAULT_CONFIG.stunPort})` },
  stunAltPort: { parse: parsePortOrOff, value: 'PORT|off', help: '(default off; enables RFC 5780 discovery)' },
  stunHost: { parse: parseIpText, value: 'IP', help: '(default: the listen host)' },
  stunPublicIp: { parse: parseIpText, value: 'IP', help: 'advertised in OTHER-ADDRESS/RESPONSE-ORIGIN' },
  token: { parse: parseToken, value: 'T', help: '(agents must present it in hello)' },
  tlsCert: { parse: parseText, value: 'FILE', help: '(PEM; with --tls-key serves https/wss)' },
  tlsKey: { parse: parseText, value: 'FILE', help: '(PEM)' },
  ...LOG_OPTIONS,
  relay: { parse: parseBool, boolean: true, value: '[true|false]', help: 'run the UDP packet relay (default off)' },
  relayPort: { parse: parsePort, value: 'PORT', help: `(default ${DEFAULT_CONFIG.relayPort}; UDP, with --relay)` },
  relayHost: { parse: parseIpText, value: 'IP', help: '(default: the STUN host, else the listen host)' },
  wsRelay: { parse: parseBool, boolean: true, value: '[true|false]', help: 'relay packets over the WebSocket (default on; --no-ws-relay)' },
  ...LIMIT_OPTIONS,
} satisfies Record<string, Option<unknown>>;

/** Flags of `wgp2p server`; it takes no other arguments. */
export function parseArgs(argv: readonly string[]): ParsedArgv {
  const args = parseArgv(argv, SERVER_OPTIONS);
  const stray = args.positional[0];
  if (stray !== undefined) throw new ConfigError('unknown_option', `unknown option ${stray}`, stray);
  return args;
}

function conflict(message: string): ConfigError {
  return new ConfigError('conflict', message);
}

/** Merges defaults < config file < environment < flags into one validated configuration. */
export function resolveConfig(args: ParsedArgv, env: NodeJS.ProcessEnv, fileText?: string): ServerConfig {
  const { listen, ...values } = resolveOptions(SERVER_OPTIONS, args, env, fileText).values;
  const config: ServerConfig = { ...DEFAULT_CONFIG };
  for (const [key, value] of Object.entries(values)) if (value !== undefined) Object.assign(config, { [key]: value });
  if (listen) [config.listenHost, config.listenPort] = [listen.host, listen.port];
  if ((config.tlsCert === null) !== (config.tlsKey === null)) throw conflict('--tls-cert and --tls-key go together');
  if (config.stunAltPort !== null && config.stunAltPort !== 0 && config.stunAltPort === config.stunPort) {
    throw conflict('--stun-alt-port must differ from --stun-port');
  }
  const stunHost = config.stunHost ?? config.listenHost;
  if (config.relay && config.relayPort !== 0 && (config.relayHost ?? stunHost) === stunHost) {
    // Only when both bind one address: a relay on another address may reuse the number.
    if (config.relayPort === config.stunPort) throw conflict('--relay-port must differ from --stun-port');
    if (config.relayPort === config.stunAltPort) throw conflict('--relay-port must differ from --stun-alt-port');
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
    '--config FILE (or WGP2P_CONFIG); flags win over the environment, which wins over the file.',
    '',
    ...optionHelp(SERVER_OPTIONS, { flagWidth: 30, envWidth: 32 }),
    `  ${'--config FILE'.padEnd(30)} ${'WGP2P_CONFIG'.padEnd(32)} JSON object with the keys above in camelCase`,
  ];
  return `${lines.join('\n')}\n`;
}
