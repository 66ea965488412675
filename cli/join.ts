// `wgp2p join --room NAME --server URL ...`: join a room and keep a WireGuard link to every member
// (direct when punching works, else relayed) until signalled. Every flag is checked before anything touches the system.
import { hostname } from 'node:os';
import { JOIN_DEFAULT_MTU, JoinAgent } from '../agent/join/agent.js';
import { sanitizeName, isMemberName } from '../agent/join/announcement.js';
import { DEFAULT_STATE_DIR, loadOrCreateIdentity } from '../agent/join/identity.js';
import { DEFAULT_ROOM_SUBNET, parseMemberAddress, parseSubnet } from '../agent/join/room-address.js';
import { resolveSecret } from '../agent/join/secret.js';
import { DEFAULT_STUN_PORT, parseServerUrl } from '../agent/join/stun-server.js';
import { createLogger, parseLogFormat, parseLogLevel } from '../shared/log.js';
import { parseArgs, UsageError } from './args.js';
import { parseEndpoint } from '../shared/net/address.js';
import { isToken } from '../shared/signal/fields.js';

const IFNAME = /^[A-Za-z0-9_=+.-]{1,15}$/;
export const DEFAULT_JOIN_INTERFACE = 'wgp2p0';
const DEFAULT_KEEPALIVE = 25;

export const JOIN_USAGE = `usage: wgp2p join --room NAME --server URL [options]

  --room NAME            the room to join (members share its name and secret)
  --server URL           the signal server, e.g. ws://signal.example:8080/ws
  --secret S             the room secret (or --secret-file F, or WGP2P_SECRET; make one with wgp2p secret)
  --secret-file F        read the secret from a file
  --name N               our name in the room (default: the host name)
  --address CIDR         our address and the room subnet (default: derived from our key in ${DEFAULT_ROOM_SUBNET})
  --listen-port P        WireGuard UDP port (default: any free port)
  --interface IF         TUN interface name (default ${DEFAULT_JOIN_INTERFACE})
  --state-dir DIR        where the private key is kept (default ${DEFAULT_STATE_DIR})
  --mtu N                the TUN MTU (default ${JOIN_DEFAULT_MTU}: room for the relay header on any path)
  --keepalive SECONDS    persistent keepalive toward each member (default ${DEFAULT_KEEPALIVE}; 0 disables)
  --stun-port P          the server's STUN port (default ${DEFAULT_STUN_PORT})
  --bounce               also relay other members' (still encrypted) WireGuard packets; run it on a
                         reachable host (public or full-cone NAT) so members behind hard NATs can meet
  --hub                  also forward decrypted room traffic for members that have no direct path
                         and no relay (the classic hub: it sees their plaintext; see README)
  --metrics-listen IP:PORT  serve Prometheus metrics (relayed packets and bytes, paths) on /metrics
  --token T              the server's access token, if it wants one (or WGP2P_TOKEN)
  --log-level L          debug, info, warn or error (or WGP2P_LOG_LEVEL)
  --log-format F         text or json (or WGP2P_LOG_FORMAT; default: text on a terminal, else json)
`;

function intFlag(args: Map<string, string>, name: string, min: number, max: number, fallback: number): number {
  const v = args.get(name);
  if (v === undefined) return fallback;
  if (!/^\d{1,6}$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

export async function runJoin(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = parseArgs(argv, {
    values: ['room', 'server', 'secret', 'secret-file', 'name', 'address', 'listen-port', 'interface', 'state-dir', 'keepalive', 'mtu', 'stun-port', 'metrics-listen', 'token', 'log-level', 'log-format'],
    switches: ['help', 'bounce', 'hub'],
  });
  if (args.switches.has('help')) {
    process.stdout.write(JOIN_USAGE);
    return 0;
  }
  if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}" (wgp2p join --help lists the options)`);
  const v = args.values;
  const room = v.get('room');
  const server = v.get('server');
  if (!room || !server) throw new UsageError(`--room and --server are required (wgp2p join --help lists the options)`);
  if (room.length > 128) throw new UsageError('--room must be at most 128 characters');
  const check = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  };
  check(() => parseServerUrl(server));
  const secret = check(() => resolveSecret({ flag: v.get('secret'), file: v.get('secret-file'), env: env.WGP2P_SECRET }));
  const name = v.get('name') ?? sanitizeName(hostname());
  if (!isMemberName(name)) throw new UsageError(`--name "${name}" is invalid: 1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit`);
  const fixed = v.has('address') ? check(() => parseMemberAddress(v.get('address')!)) : undefined;
  const subnet = fixed?.subnet ?? parseSubnet(DEFAULT_ROOM_SUBNET);
  const ifname = v.get('interface') ?? DEFAULT_JOIN_INTERFACE;
  if (!IFNAME.test(ifname)) throw new UsageError(`interface name "${ifname}" is invalid (1–15 of A-Z a-z 0-9 _=+.-)`);
  const listenPort = intFlag(v, 'listen-port', 0, 65535, 0);
  const keepaliveSeconds = intFlag(v, 'keepalive', 0, 65535, DEFAULT_KEEPALIVE);
  const stunPort = intFlag(v, 'stun-port', 1, 65535, DEFAULT_STUN_PORT);
  const mtu = intFlag(v, 'mtu', 1280, 9000, JOIN_DEFAULT_MTU);
  const metricsListen = v.has('metrics-listen') ? check(() => parseEndpoint(v.get('metrics-listen')!)) : undefined;
  const token = v.get('token') ?? (env.WGP2P_TOKEN || undefined);
  if (token !== undefined && !isToken(token)) throw new UsageError('--token must be 1 to 256 characters');
  const log = createLogger({
    component: 'join',
    level: check(() => parseLogLevel(v.get('log-level') ?? env.WGP2P_LOG_LEVEL)),
    format: check(() => parseLogFormat(v.get('log-format') ?? env.WGP2P_LOG_FORMAT)),
  });
  // Any local user can read another's command line (/proc/PID/cmdline, ps).
  if (v.has('secret')) log.warn('--secret on the command line is visible to every local user; prefer --secret-file or WGP2P_SECRET');
  if (v.has('token')) log.warn('--token on the command line is visible to every local user; prefer WGP2P_TOKEN');
  if (secret.weak) log.warn('the room secret is short: anyone who sees the room id can try to guess it (make one with: wgp2p secret)', { source: secret.source });
  const identity = loadOrCreateIdentity(v.get('state-dir') ?? DEFAULT_STATE_DIR, (msg) => log.warn(msg));
  if (identity.created) log.info('generated a new identity', { keyFile: identity.keyFile });

  const agent = await JoinAgent.start({
    roomName: room,
    secret: secret.secret,
    serverUrl: server,
    token,
    stunPort,
    name,
    identity,
    subnet,
    fixedAddress: fixed?.address,
    listenPort,
    ifname,
    keepaliveSeconds,
    mtu,
    log,
    bounce: args.switches.has('bounce'),
    hub: args.switches.has('hub'),
    metricsListen,
  });
  return await new Promise<number>((resolve) => {
    const stop = (sig: string) => agent.close(`signal ${sig}`);
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    agent.onClosed((reason) => resolve(reason.startsWith('signal') || reason === 'control socket removed' ? 0 : 1));
  });
}
