// `wgp2p join --room NAME --server URL ...`: join a room and keep a WireGuard link to every member
// (direct when punching works, else relayed) until signalled. Every option is checked before
// anything touches the system; each is also a WGP2P_* variable and a key of a --config file.
import { hostname } from 'node:os';
import { JOIN_DEFAULT_MTU, startJoin } from '../agent/join/host.js';
import { sanitizeName, isMemberName } from '../agent/join/room/announcement.js';
import { DEFAULT_STATE_DIR, loadOrCreateIdentity } from '../agent/join/identity/identity.js';
import { DEFAULT_ROOM_SUBNET, parseMemberAddress, parseSubnet } from '../agent/join/room/room-address.js';
import { resolveSecret, type SecretSources } from '../agent/join/room/secret.js';
import { DEFAULT_STUN_PORT } from '../agent/join/nat/stun-server.js';
import { optionHelp } from '../shared/config/help.js';
import { loadOptions, type Option, type OptionSource, type OptionValues, type Resolved } from '../shared/config/options.js';
import { LOG_OPTIONS } from '../shared/config/log-options.js';
import { asText, badValue, integer, parseBool } from '../shared/config/values.js';
import { ConfigError } from '../shared/errors.js';
import { createLogger } from '../shared/log.js';
import { parseEndpoint } from '../shared/net/address.js';
import { normalizeServerUrl } from '../shared/net/server-url.js';
import { isToken } from '../shared/signal/fields.js';
import { parseInterfaceName } from './interface-name.js';
import { domainForRoom, parseDnsDomain } from '../agent/join/names/name-table.js';
import { DNS_CONFIG_MODES, type DnsConfigMode } from '../agent/join/names/resolver-config.js';
import { reloadOnSighup } from './join-reload.js';
import { overlaps, parseAdvertisedRoutes, parseRoute } from '../agent/join/routes/route-prefix.js';
import { ROOM_IPV6_PREFIX } from '../agent/join/room/room-ipv6.js';
import { formatSubnet } from '../agent/join/room/room-address.js';
import { joinRoomState } from './join-membership.js';

export const DEFAULT_JOIN_INTERFACE = 'wgp2p0';
const DEFAULT_KEEPALIVE = 25;

/** A parser over text whose messages start with the flag it was written for; names the real source. */
function named<T>(parse: (text: string) => T): (raw: unknown, where: string) => T {
  return (raw, where) => {
    try {
      return parse(asText(raw, where));
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw badValue(where, (e as Error).message.replace(/^--[a-z-]+:? /, ''));
    }
  };
}

function check(ok: (text: string) => boolean, expected: string): (raw: unknown, where: string) => string {
  return (raw, where) => {
    const text = asText(raw, where);
    if (!ok(text)) throw badValue(where, `${expected}, got "${text}"`);
    return text;
  };
}

export const JOIN_OPTIONS = {
  room: { parse: check((t) => t.length >= 1 && t.length <= 128, 'expected 1 to 128 characters'), value: 'NAME', help: 'the room to join (members share its name and secret)' },
  server: { parse: named(normalizeServerUrl), value: 'URL', help: 'the signal server: host, host:port or a ws://, wss://, http://, https:// URL\n(default port 8080, path /ws)' },
  secret: { parse: asText, value: 'S', help: 'the room secret (or --secret-file F, or WGP2P_SECRET; make one with wgp2p secret)' },
  secretFile: { parse: asText, value: 'F', help: 'read the secret from a file' },
  name: { parse: check(isMemberName, 'expected 1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit'), value: 'N', help: 'our name in the room (default: the host name)' },
  address: { parse: named(parseMemberAddress), value: 'CIDR', help: `our address and the room subnet (default: derived from our key in ${DEFAULT_ROOM_SUBNET})` },
  listenPort: { parse: integer(0, 65535), default: 0, value: 'P', help: 'WireGuard UDP port (default: any free port)' },
  interface: { parse: parseInterfaceName, default: DEFAULT_JOIN_INTERFACE, value: 'IF', help: `TUN interface name (default ${DEFAULT_JOIN_INTERFACE})` },
  stateDir: { parse: asText, default: DEFAULT_STATE_DIR, value: 'DIR', help: `where the private key is kept (default ${DEFAULT_STATE_DIR})` },
  mtu: { parse: integer(1280, 9000), default: JOIN_DEFAULT_MTU, value: 'N', help: `the TUN MTU (default ${JOIN_DEFAULT_MTU}: room for the relay header on any path)` },
  keepalive: { parse: integer(0, 65535), default: DEFAULT_KEEPALIVE, value: 'SECONDS', help: `persistent keepalive toward each member (default ${DEFAULT_KEEPALIVE}; 0 disables)` },
  stunPort: { parse: integer(1, 65535), default: DEFAULT_STUN_PORT, value: 'P', help: `the server's STUN port (default ${DEFAULT_STUN_PORT})` },
  bounce: {
    parse: parseBool,
    boolean: true,
    default: false,
    help: "also relay other members' (still encrypted) WireGuard packets; run it on a\nreachable host (public or full-cone NAT) so members behind hard NATs can meet",
  },
  hub: {
    parse: parseBool,
    boolean: true,
    default: false,
    help: 'also forward decrypted room traffic for members that have no direct path\nand no relay (the classic hub: it sees their plaintext; see README)',
  },
  portmap: {
    parse: parseBool,
    boolean: true,
    default: true,
    help: 'ask the gateway (PCP, NAT-PMP, UPnP IGD) to map our WireGuard port and\nannounce the mapping as a candidate (--no-portmap: never ask)',
  },
  birthday: {
    parse: parseBool,
    boolean: true,
    default: true,
    help: 'birthday punching for a symmetric NAT against a port-restricted one: many\nsockets on one side, random-port probes from the other (--no-birthday: relay)',
  },
  useHub: { parse: check((t) => isMemberName(t) || /^[A-Za-z0-9+/]{43}=$/.test(t), 'expected a member name or base64 public key'), value: 'NAME', help: 'reach members we have no other path to through this member\'s --hub (name or\npublic key); without it no hub is used: a hub sees what it forwards' },
  metricsListen: { parse: named(parseEndpoint), value: 'IP:PORT', help: 'serve Prometheus metrics (relayed packets and bytes, paths) on /metrics' },
  dnsDomain: { parse: named(parseDnsDomain), value: 'D', help: 'answer DNS for NAME.D on our room address (default: the room name)' },
  dnsConfig: {
    parse: check((t) => (DNS_CONFIG_MODES as readonly string[]).includes(t), `expected one of ${DNS_CONFIG_MODES.join(', ')}`),
    default: 'auto',
    value: 'HOW',
    help: 'how the system resolver learns the domain: auto (resolvectl when systemd-resolved\nruns, else resolv-conf), resolvectl, resolv-conf (edits /etc/resolv.conf, restored\non exit), off',
  },
  advertiseRoutes: { parse: named(parseAdvertisedRoutes), value: 'CIDRS', help: 'announce LAN prefixes reachable through us (192.168.1.0/24[,...], IPv6\ntoo); members with --accept-routes route them here (turns on forwarding)' },
  snatRoutes: { parse: parseBool, boolean: true, default: false, help: 'masquerade room traffic into the advertised routes (for LANs whose\nhosts have no route back to the room subnet)' },
  acceptRoutes: { parse: parseBool, boolean: true, default: false, help: "route other members' advertised prefixes through them (else ignored)" },
  advertiseExitNode: { parse: parseBool, boolean: true, default: false, help: 'offer members our internet connection (their --exit-node); their\ntraffic leaves masqueraded as ours' },
  exitNode: { parse: check((t) => isMemberName(t) || /^[A-Za-z0-9+/]{43}=$/.test(t), 'expected a member name or base64 public key'), value: 'NAME', help: 'send our default route through this member (name or public key) while it\noffers --advertise-exit-node; normal routing whenever it is gone' },
  exitNodeAllowLan: { parse: parseBool, boolean: true, default: false, help: 'with --exit-node: keep our LAN direct (else it goes through the exit\nnode too, all but the gateway)' },
  invite: { parse: asText, value: 'INVITE', help: 'join a room with admins with an invite (wgp2p invite); room, server and secret\nit carries are kept in the state directory: later joins need only --room' },
  token: { parse: check(isToken, 'expected 1 to 256 characters'), value: 'T', help: "the server's access token, if it wants one" },
  ...LOG_OPTIONS,
} satisfies Record<string, Option<unknown>>;

export const JOIN_USAGE = `usage: wgp2p join --room NAME --server URL [options]

${optionHelp(JOIN_OPTIONS, { flagWidth: 25 }).join('\n')}
  --config FILE             a JSON object with any of the options above as camelCase keys
                            ({"room": "office", "listenPort": 51820}; or WGP2P_CONFIG)

Every option is also an environment variable: WGP2P_ and its name in capitals, e.g.
WGP2P_SECRET, WGP2P_LISTEN_PORT, WGP2P_BOUNCE=true. Flags win over the environment, which wins
over the file. SIGHUP reads them again: --log-level and --keepalive change at once, the log
names any other changed option (it needs a restart).
`;

const RANK: Record<OptionSource, number> = { file: 1, env: 2, flag: 3 };

/** --secret and --secret-file are one setting: the higher layer wins, two in one layer clash. */
function secretSources(r: Resolved<typeof JOIN_OPTIONS>): SecretSources {
  const inline = r.sources.secret ? RANK[r.sources.secret] : 0;
  const file = r.sources.secretFile ? RANK[r.sources.secretFile] : 0;
  const secret = inline >= file ? r.values.secret : undefined;
  return {
    ...(r.sources.secret === 'env' ? { env: secret } : { flag: secret }),
    file: file >= inline ? r.values.secretFile : undefined,
  };
}

/** Route flags that make no sense together or with the room subnet, before anything starts. */
function checkRouteOptions(v: OptionValues<typeof JOIN_OPTIONS>, room: string): void {
  if (v.snatRoutes && !v.advertiseRoutes) throw new ConfigError('usage', '--snat-routes needs --advertise-routes');
  if (v.exitNodeAllowLan && !v.exitNode) throw new ConfigError('usage', '--exit-node-allow-lan needs --exit-node');
  if (v.exitNode && v.advertiseExitNode) throw new ConfigError('usage', '--exit-node and --advertise-exit-node exclude each other (an exit node leaves through its own default route)');
  if (v.exitNode !== undefined && v.exitNode === v.name) throw new ConfigError('bad_value', '--exit-node names ourselves');
  for (const roomSpace of [room, ROOM_IPV6_PREFIX]) {
    const clash = v.advertiseRoutes?.find((r) => overlaps(parseRoute(r)!, parseRoute(roomSpace)!));
    if (clash) throw new ConfigError('bad_value', `--advertise-routes ${clash} overlaps the room subnet ${roomSpace}`);
  }
}

export async function runJoin(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const r = loadOptions(JOIN_OPTIONS, argv, { env, configFile: true });
  if (r.help) {
    process.stdout.write(JOIN_USAGE);
    return 0;
  }
  if (r.positional.length > 0) throw new ConfigError('usage', `unexpected argument "${r.positional[0]}" (wgp2p join --help lists the options)`);
  const v: OptionValues<typeof JOIN_OPTIONS> = r.values;
  let refusedBy: ((reason: string) => void) | undefined;
  const admins = joinRoomState({ stateDir: v.stateDir, room: v.room, invite: v.invite }, (reason) => refusedBy?.(reason));
  const roomName = admins?.room ?? v.room;
  const server = v.server ?? admins?.server;
  if (!roomName || !server) throw new ConfigError('usage', '--room and --server are required, or --invite (wgp2p join --help lists the options)');
  let secret;
  try {
    secret = admins && r.sources.secret === undefined && r.sources.secretFile === undefined ? { secret: admins.secret, source: 'the state directory', weak: false } : resolveSecret(secretSources(r));
  } catch (e) {
    throw new ConfigError('bad_value', (e as Error).message);
  }
  const name = v.name ?? sanitizeName(hostname());
  if (!isMemberName(name)) throw new ConfigError('bad_value', `the host name "${name}" is no member name: choose one with --name`);
  const subnet = v.address?.subnet ?? parseSubnet(DEFAULT_ROOM_SUBNET);
  checkRouteOptions(v, formatSubnet(subnet));
  const log = createLogger({ component: 'join', level: v.logLevel, format: v.logFormat });
  // Any local user can read another's command line (/proc/PID/cmdline, ps).
  if (r.sources.secret === 'flag') log.warn('--secret on the command line is visible to every local user; prefer --secret-file or WGP2P_SECRET');
  if (r.sources.token === 'flag') log.warn('--token on the command line is visible to every local user; prefer WGP2P_TOKEN');
  if (secret.weak) log.warn('the room secret is short: anyone who sees the room id can try to guess it (make one with: wgp2p secret)', { source: secret.source });
  const identity = loadOrCreateIdentity(v.stateDir, (msg) => log.warn(msg));
  admins?.commit(); // after the identity: the directory exists, 0700 (the state holds the secret)
  if (identity.created) log.info('generated a new identity', { keyFile: identity.keyFile });
  if (admins && !admins.membership.membership && !admins.membership.admin) log.info('joining with an invite: waiting for an admin\'s agent to admit us');

  const agent = await startJoin({
    roomName,
    secret: secret.secret,
    serverUrl: server,
    token: v.token,
    stunPort: v.stunPort,
    name,
    identity,
    subnet,
    fixedAddress: v.address?.address,
    listenPort: v.listenPort,
    ifname: v.interface,
    keepaliveSeconds: v.keepalive,
    mtu: v.mtu,
    log,
    bounce: v.bounce,
    hub: v.hub,
    useHub: v.useHub,
    metricsListen: v.metricsListen,
    names: { domain: v.dnsDomain ?? domainForRoom(roomName), config: { mode: v.dnsConfig as DnsConfigMode, stateDir: v.stateDir, ifname: v.interface } },
    portmap: v.portmap,
    routes: { advertise: v.advertiseRoutes, accept: v.acceptRoutes, advertiseExitNode: v.advertiseExitNode, exitNode: v.exitNode },
    snatRoutes: v.snatRoutes,
    exitNodeAllowLan: v.exitNodeAllowLan,
    stateDir: v.stateDir,
    birthday: v.birthday,
    ...(admins && { membership: admins.membership }),
  });
  refusedBy = (reason) => {
    process.stderr.write(`wgp2p join: cannot join room ${roomName}: ${reason}\n`);
    agent.close('refused by an admin');
  };
  const stopReload = reloadOnSighup(JOIN_OPTIONS, argv, env, r, { log, setKeepalive: (s) => agent.agent.setKeepalive(s) });
  return await new Promise<number>((resolve) => {
    const stop = (sig: string) => agent.close(`signal ${sig}`);
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    agent.onClosed(stopReload);
    agent.onClosed((reason) => resolve(reason.startsWith('signal') || reason === 'control socket removed' ? 0 : 1));
  });
}
