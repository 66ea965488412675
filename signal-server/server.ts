// Assembles the signalling server: HTTP(S) with /ws, /healthz and /metrics, the WebSocket
// sessions, the room hub, the STUN responder and the packet relay (UDP and WebSocket). Holds no
// state worth keeping across restarts.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { nanoid } from 'nanoid';
import { WebSocketServer } from 'ws';
import type { HostPort } from '../shared/net/host-port.js';
import { unmapIpv4 } from '../shared/net/ip-bytes.js';
import { DEFAULT_CONFIG, type ServerConfig } from './config.js';
import { ConnectionGate, originOf, type Refusal } from './connection-gate.js';
import { handleHttpRequest, pathOf } from './http-routes.js';
import { createLogger, type Logger } from '../shared/log.js';
import { Metrics, type MetricsSnapshot } from './metrics.js';
import { KeyedRateLimiter } from '../shared/rate-limit.js';
import { ServerRelay } from './relay.js';
import { RoomHub } from './room-hub.js';
import { digestToken, Session } from './session.js';
import { type SessionContext } from './session-context.js';
import { CLOSE_GOING_AWAY } from '../shared/signal/close-codes.js';
import { startStunResponder, type StunResponderHandle } from './stun-responder.js';

export interface StartOptions extends Partial<ServerConfig> {
  /** Defaults to JSON lines on stderr at `logLevel`. */
  logger?: Logger;
  /** PEM material given directly (tests); otherwise read from tlsCert / tlsKey paths. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface SignalServerHandle {
  /** Random per start; agents see it in welcome and can tell a restart. */
  serverId: string;
  http: HostPort;
  /** Where agents connect, e.g. ws://127.0.0.1:8080/ws (wss:// with TLS). */
  url: string;
  /** Base URL for /healthz and /metrics. */
  httpUrl: string;
  stun?: HostPort;
  stunAlt?: HostPort;
  /** The UDP packet relay, when it runs (`relay: true`). */
  relay?: HostPort;
  metrics(): MetricsSnapshot;
  renderMetrics(): string;
  /** Graceful stop: refuses new connections, closes agents with 1001, stops STUN. Idempotent. */
  close(): Promise<void>;
}

const REFUSAL_STATUS: Record<Refusal | 'not_found' | 'shutting_down', string> = {
  server_full: '503 Service Unavailable',
  ip_connection_cap: '429 Too Many Requests',
  subnet_connection_cap: '429 Too Many Requests',
  ip_connect_rate: '429 Too Many Requests',
  not_found: '404 Not Found',
  shutting_down: '503 Service Unavailable',
};

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  // A client that never reads must not keep the half-closed socket alive.
  setTimeout(() => socket.destroy(), 1000).unref();
}

function reachableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startSignalServer(options: StartOptions = {}): Promise<SignalServerHandle> {
  const { logger, tls, ...overrides } = options;
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...overrides };
  const log = logger ?? createLogger({ level: config.logLevel, format: config.logFormat });
  const serverId = nanoid();
  const sessions = new Set<Session>();
  const sessionsById = new Map<string, Session>();
  const hub = new RoomHub(config);
  const gate = new ConnectionGate(config);
  const metrics = new Metrics({
    connectedAgents: () => sessions.size,
    rooms: () => hub.roomCount,
    members: () => hub.membershipCount,
  });
  const tokenDigest = config.token !== null ? digestToken(config.token) : undefined;
  let stopping = false;
  let allClosed: (() => void) | undefined;

  let tlsMaterial = tls;
  if (!tlsMaterial && config.tlsCert !== null && config.tlsKey !== null) {
    tlsMaterial = { cert: await readFile(config.tlsCert), key: await readFile(config.tlsKey) };
  }
  // Slowloris: Node's own header/request timeouts are a backstop behind our handshake timer.
  const timeouts = {
    headersTimeout: config.handshakeTimeoutMs + 1000,
    requestTimeout: config.handshakeTimeoutMs + 1000,
    connectionsCheckingInterval: Math.min(1000, config.handshakeTimeoutMs),
    keepAliveTimeout: 5000,
  };
  const server = tlsMaterial
    ? https.createServer({ ...timeouts, ...tlsMaterial, handshakeTimeout: config.handshakeTimeoutMs })
    : http.createServer(timeouts);

  // Every connection must finish its HTTP request (or upgrade) within handshakeTimeoutMs.
  const handshakeTimers = new WeakMap<Duplex, NodeJS.Timeout>();
  const onConnection = (socket: Socket) => {
    const timer = setTimeout(() => {
      metrics.disconnects.inc('handshake_timeout');
      socket.destroy();
    }, config.handshakeTimeoutMs);
    handshakeTimers.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  };
  const handshakeDone = (socket: Duplex) => clearTimeout(handshakeTimers.get(socket));
  server.on(tlsMaterial ? 'secureConnection' : 'connection', onConnection);
  // Before 'secureConnection', https's own handshakeTimeout guards the TLS handshake; count what it cuts.
  if (tlsMaterial) server.on('tlsClientError', () => metrics.disconnects.inc('tls_handshake_failed'));

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    handshakeDone(req.socket);
    handleHttpRequest({ serving: () => !stopping, renderMetrics: () => metrics.render() }, req, res);
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxFrameBytes,
    perMessageDeflate: false, // compression costs memory per connection and invites zip bombs
    clientTracking: false,
  });
  const addressFrames = new KeyedRateLimiter(config.addressMessageRate, config.addressMessageBurst);
  // Both relays share one forwarding core; the UDP socket is only there with `relay`.
  const relay =
    config.relay || config.wsRelay
      ? new ServerRelay({ member: (id) => sessionsById.get(id), wsRelay: config.wsRelay, limits: config, metrics, log })
      : undefined;
  const sessionContext: SessionContext = { hub, metrics, limits: config, log, serverId, tokenDigest, addressFrames, stunPort: undefined, relay };

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    handshakeDone(socket);
    socket.on('error', () => undefined); // resets before ws takes over must not become exceptions
    const refuse = (reason: Refusal | 'not_found' | 'shutting_down') => {
      metrics.refusedConnections.inc(reason);
      refuseUpgrade(socket, REFUSAL_STATUS[reason]);
    };
    if (stopping) return refuse('shutting_down');
    if (pathOf(req.url) !== '/ws') return refuse('not_found');
    const remoteAddress = req.socket.remoteAddress ?? '';
    const remotePort = req.socket.remotePort ?? 0;
    const grouped = originOf(remoteAddress);
    const key = grouped.host;
    const refusal = gate.admit(grouped, Date.now());
    if (refusal) return refuse(refusal);
    let upgraded = false;
    // A handshake ws rejects (bad headers) never reaches the callback: free the slot on close.
    socket.once('close', () => {
      if (!upgraded) gate.release(grouped);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      const origin = { address: unmapIpv4(remoteAddress), port: remotePort, key, subnet: grouped.subnet };
      const session = new Session(ws, origin, sessionContext, (s, reason) => {
        sessions.delete(s);
        sessionsById.delete(s.id);
        relay?.memberGone(s.id);
        gate.release(grouped);
        metrics.disconnects.inc(reason);
        log.debug('agent disconnected', { id: s.id, reason });
        if (stopping && sessions.size === 0) allClosed?.();
      });
      sessions.add(session);
      sessionsById.set(session.id, session);
    });
  });

  const pingTimer = setInterval(() => {
    for (const s of sessions) s.pingRound();
  }, config.pingIntervalMs);
  const sweepTimer = setInterval(() => {
    gate.sweep(Date.now());
    addressFrames.sweep(Date.now());
  }, 10_000);
  pingTimer.unref();
  sweepTimer.unref();

  // UDP first, so that every welcome can name the STUN and relay ports.
  let stun: StunResponderHandle | undefined;
  const stopUdp = async () => {
    await stun?.close();
    await relay?.close();
  };
  const stopTimers = () => {
    clearInterval(pingTimer);
    clearInterval(sweepTimer);
  };
  try {
    if (config.stunPort !== null) {
      stun = await startStunResponder({
        host: config.stunHost ?? config.listenHost,
        port: config.stunPort,
        ...(config.stunAltPort !== null ? { altPort: config.stunAltPort } : {}),
        ...(config.stunPublicIp !== null ? { publicIp: config.stunPublicIp } : {}),
        ratePerIp: config.stunRatePerIp,
        burstPerIp: config.stunBurstPerIp,
        metrics,
        log,
      });
      sessionContext.stunPort = stun.primary.port;
    }
    if (config.relay) await relay!.listen(config.relayHost ?? config.stunHost ?? config.listenHost, config.relayPort);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listenPort, config.listenHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    stopTimers();
    await stopUdp();
    throw err;
  }
  server.on('error', (err) => log.error('http server error', { error: err.message }));
  const address = server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.listenPort;

  const scheme = tlsMaterial ? 'https' : 'http';
  const hostForUrl = reachableHost(config.listenHost);
  log.info('signal server listening', {
    serverId,
    listen: `${config.listenHost}:${httpPort}`,
    tls: !!tlsMaterial,
    tokenRequired: tokenDigest !== undefined,
    stunPort: stun?.primary.port ?? null,
    stunAltPort: stun?.alternate?.port ?? null,
    relayPort: relay?.udp?.port ?? null,
    wsRelay: config.wsRelay,
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      stopping = true;
      stopTimers();
      const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (sessions.size > 0) {
        const drained = new Promise<void>((resolve) => (allClosed = resolve));
        for (const s of sessions) s.close('shutdown', CLOSE_GOING_AWAY, 'server shutting down', config.shutdownGraceMs);
        await drained;
      }
      server.closeAllConnections();
      await httpClosed;
      await stopUdp();
      wss.close();
      log.info('signal server stopped', { serverId });
    })());

  return {
    serverId,
    http: { host: config.listenHost, port: httpPort },
    url: `${tlsMaterial ? 'wss' : 'ws'}://${hostForUrl}:${httpPort}/ws`,
    httpUrl: `${scheme}://${hostForUrl}:${httpPort}`,
    ...(stun ? { stun: stun.primary } : {}),
    ...(stun?.alternate ? { stunAlt: stun.alternate } : {}),
    ...(relay?.udp ? { relay: relay.udp } : {}),
    metrics: () => metrics.snapshot(),
    renderMetrics: () => metrics.render(),
    close,
  };
}
