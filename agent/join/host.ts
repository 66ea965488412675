// The join agent on a real host: the kernel TUN and UDP socket (Tunnel), the WebSocket signalling
// client, real timers, the control socket, hub forwarding and the metrics listener. The CLI calls
// startJoin; everything the agent does lives behind the ports it is given here (agent.ts).
import type { Server } from 'node:http';
import { makeEndpoint, type Endpoint } from '../../shared/net/address.js';
import { PortMapper } from '../portmap/index.js';
import { deriveRoomAsync, type RoomCredentials } from '../../shared/signal/room-key.js';
import { Tunnel } from '../daemon/tunnel.js';
import { BatchUdpSocket } from '../daemon/batch-udp-socket.js';
import { JoinAgent, type JoinAgentOptions } from './agent.js';
import { deviceEngine } from './engine-port.js';
import { warmUpSignatures } from './identity/xeddsa.js';
import { resolveStunServer, serverAddresses } from './nat/stun-server.js';
import { serveAgentMetrics } from './observe/metrics-http.js';
import { enableHubForwarding } from './roles/hub-forwarding.js';
import { candidateAddress } from './room/room-address.js';
import type { BackoffPolicy } from './signalling/backoff.js';
import { SignalClient } from './signalling/signal-client.js';
import { systemJoinClock, type ExtraSocket, type PortmapPort, type TunnelPort } from './ports.js';
import { dnsSockets } from './names/dns-sockets.js';
import { restoreLeftover } from './names/resolver-config.js';
import { startGateway, type Gateway } from './routes/gateway.js';
import { defaultRouteDevices, hostExitRoute } from './routes/exit-route.js';
import { runIpSync } from '../tun/link-config.js';
import { freeDefaultRouteTable } from '../tun/default-route.js';
import { formatSubnet } from './room/room-address.js';
import { roomSubnet6 } from './room/room-ipv6.js';
import { addRoomIpv6, type RoomIpv6Link } from './routes/room-ipv6-link.js';
import { membershipHandlers } from './membership/control.js';

export interface JoinOptions extends Omit<JoinAgentOptions, 'fixedAddress'> {
  roomName: string;
  secret: string;
  serverUrl: string;
  token?: string;
  /** The server's STUN port (it runs on the URL's host). */
  stunPort: number;
  fixedAddress?: string;
  listenPort: number;
  ifname: string;
  mtu?: number;
  reconnect?: BackoffPolicy;
  controlDir?: string;
  uapiDir?: string;
  /** Serve Prometheus metrics on this address (`--metrics-listen`). */
  metricsListen?: Endpoint;
  /** Ask the gateway for a port mapping (off with `--no-portmap`). */
  portmap?: boolean;
  /** Masquerade room traffic into the advertised routes (`--snat-routes`). */
  snatRoutes?: boolean;
  /** With --exit-node: keep the LAN direct (`--exit-node-allow-lan`). */
  exitNodeAllowLan?: boolean;
  /** Where routing changes to the host are recorded until undone (`--state-dir`). */
  stateDir: string;
}

/**
 * The TUN MTU of a join agent. WireGuard's usual 1420 leaves no room on a 1500-byte path for the
 * relay's header (5 bytes + a member id) when the outer path is IPv6; 1380 fits it with IPv4 or
 * IPv6 outside, so a path can move between direct and relayed without an MTU black hole.
 */
export const JOIN_DEFAULT_MTU = 1380;

export interface RunningJoin {
  agent: JoinAgent;
  tunnel: Tunnel;
  close(reason?: string): void;
  onClosed(cb: (reason: string) => void): void;
}

/** Brings up the tunnel and starts joining; resolves once the tunnel runs (members come later). */
export async function startJoin(o: JoinOptions): Promise<RunningJoin> {
  // scrypt runs on the thread pool while the tunnel comes up; the signature code warms up
  // (its first use costs ~90 ms) while we wait for `ip` commands: joining then waits for neither.
  const roomReady = deriveRoomAsync(o.roomName, o.secret);
  roomReady.catch(() => undefined); // awaited below; this only keeps it from counting as unhandled meanwhile
  setImmediate(warmUpSignatures);
  const address = o.fixedAddress ?? candidateAddress(o.identity.publicKey, o.subnet, 0);
  // A resolv.conf a crashed run left changed goes back first, whatever --dns-config says now.
  if (o.names?.config) restoreLeftover(o.names.config.stateDir, o.log);
  let agent: JoinAgent | undefined;
  // With --exit-node our socket carries the default route's fwmark from the start (as wg-quick).
  const exitTable = o.routes?.exitNode !== undefined ? freeDefaultRouteTable() : undefined;
  const tunnel = await Tunnel.start({
    ifname: o.ifname,
    log: o.log,
    config: {
      interface: { privateKey: o.identity.privateKey, listenPort: o.listenPort, addresses: [`${address}/${o.subnet.bits}`], mtu: o.mtu ?? JOIN_DEFAULT_MTU, fwmark: exitTable },
      peers: [],
      ignored: [],
    },
    intercept: (d, from) => agent?.onDatagram(d, from) ?? false,
    outbound: (d, to) => (agent ? agent.outbound(d, to) : false),
    status: (base) => (agent ? agent.control.status(base) : base),
    controlHandlers: { ping: (req) => (agent ? agent.control.ping(req) : Promise.reject(new Error('agent starting'))), ...membershipHandlers(() => agent?.membership) },
    controlDir: o.controlDir,
    uapiDir: o.uapiDir,
  });
  let room: RoomCredentials;
  let gateway: Gateway | undefined;
  let ipv6: RoomIpv6Link | undefined;
  let exitNode6 = false;
  try {
    if (o.hub) enableHubForwarding(tunnel.ifname);
    if (routing(o.routes)) ipv6 = await addRoomIpv6(tunnel.ifname, address, o.subnet, o.log);
    // The IPv6 uplinks: where an exit node's IPv6 leaves, and whose RAs must survive our forwarding.
    const advertising = !!o.routes?.advertiseExitNode || !!o.routes?.advertise?.length;
    const uplinks6 = advertising ? defaultRouteDevices(runIpSync(['-6', 'route', 'show', 'default']) ?? '') : [];
    // An exit node offers IPv6 when it has both an IPv6 room address and an IPv6 way out.
    exitNode6 = !!ipv6 && !!o.routes?.advertiseExitNode && uplinks6.length > 0;
    gateway = startGateway({ ifname: tunnel.ifname, roomSubnet: formatSubnet(o.subnet), ...(ipv6 && { roomSubnet6: roomSubnet6(o.subnet) }), routes: o.routes?.advertise ?? [], snatRoutes: !!o.snatRoutes, exitNode: !!o.routes?.advertiseExitNode, exitNode6, uplinks6, stateDir: o.stateDir, log: o.log });
    tunnel.onClosed(() => gateway?.close());
    room = await roomReady;
  } catch (e) {
    tunnel.close('startup failed');
    throw e;
  }
  const port: TunnelPort = {
    engine: deviceEngine(tunnel.device),
    get listenPort() {
      return tunnel.listenPort;
    },
    get dualStack() {
      return tunnel.dualStack;
    },
    ifname: tunnel.ifname,
    sendDatagram: (d, to) => tunnel.sendDatagram(d, to),
    queueDatagram: (d, to) => tunnel.queueDatagram(d, to),
    addRoute: (cidr) => tunnel.addRoute(cidr),
    removeRoute: (cidr) => tunnel.removeRoute(cidr),
    replaceAddress: async (from, to) => {
      await tunnel.replaceAddress(from, to);
      if (from) await ipv6?.move(from.replace(/\/.*/, ''), to.replace(/\/.*/, ''));
    },
    close: (reason) => tunnel.close(reason),
    openSocket: (onMessage) => openExtraSocket(onMessage, tunnel),
  };
  const signal = new SignalClient({ url: o.serverUrl, token: o.token, log: o.log, backoff: o.reconnect });
  const running = agent = new JoinAgent({ ...o, fixedAddress: o.fixedAddress !== undefined, ...(o.routes && { routes: { ...o.routes, exitNodeIpv6: exitNode6 } }) }, room, {
    clock: systemJoinClock,
    tunnel: port,
    signal,
    dns: dnsSockets,
    stunPort: o.stunPort,
    resolveStun: (p) => resolveStunServer(o.serverUrl, p),
    ...(o.portmap === false ? {} : { portmap: gatewayPortmap(o.log) }),
    ...(exitTable !== undefined && {
      exitRoute: hostExitRoute({ ifname: tunnel.ifname, table: exitTable, allowLan: !!o.exitNodeAllowLan, serverAddresses: () => serverAddresses(o.serverUrl), log: o.log }),
    }),
  }, address);
  let metrics: Server | undefined;
  const close = (reason = 'closed') => {
    metrics?.close();
    running.close(reason);
  };
  tunnel.onClosed(() => close());
  try {
    await running.begin(o.serverUrl, o.roomName);
    if (o.metricsListen) {
      metrics = await serveAgentMetrics(o.metricsListen.address, o.metricsListen.port, {
        relay: () => running.bounce && { stats: running.bounce.relay.stats, bindings: running.bounce.relay.bindingCount },
        peers: () => running.control.peers(),
      });
    }
  } catch (e) {
    close();
    throw e;
  }
  // Callers learn of the end once the gateway's mapping is deleted too (the process may exit then).
  return { agent: running, tunnel, close, onClosed: (cb) => tunnel.onClosed((reason) => void running.close(reason).then(() => cb(reason))) };
}

/** Any route or exit-node flag: the member gets an IPv6 room address (room-ipv6-link.ts). */
const routing = (r: JoinOptions['routes']) => !!r && (!!r.accept || !!r.advertise?.length || !!r.advertiseExitNode || r.exitNode !== undefined);

/** The real port mapper (agent/portmap) behind the agent's port; its log lines at debug level. */
function gatewayPortmap(log: JoinOptions['log']): PortmapPort {
  let mapper: PortMapper | undefined;
  return {
    start(internalPort, changed) {
      mapper = new PortMapper({ internalPort, log: (message) => log.debug(message) });
      mapper.on('change', (m) => changed(m && makeEndpoint(m.externalAddress, m.externalPort)));
      mapper.start();
    },
    close: () => mapper?.close() ?? Promise.resolve(),
  };
}

/** Another UDP socket on any port (birthday punching); the agent closes it (on close, all of them). */
async function openExtraSocket(onMessage: (data: Buffer, from: Endpoint) => void, tunnel: Tunnel): Promise<ExtraSocket> {
  const sock = await BatchUdpSocket.bind(0, onMessage, undefined, () => sock.close());
  if (tunnel.device.fwmark) sock.setMark(tunnel.device.fwmark);
  return { port: sock.port, send: (d, to) => sock.enqueue(d, to), close: () => sock.close() };
}
