// A running tunnel: TUN device + UDP socket + the pure engine + the `wg` control socket, glued
// together on the event loop. Everything here is I/O; the protocol lives in ../wireguard.
import { lookup } from 'node:dns/promises';
import type { TunnelConfig } from '../config/wg-quick.js';
import type { Logger } from '../../shared/log.js';
import { TunDevice } from '../tun/tun-device.js';
import { addAddress, addRoute, removeAddress, removeRoute } from '../tun/link-config.js';
import { freeDefaultRouteTable, routeDefaultThroughTunnel, type DefaultRoute } from '../tun/default-route.js';
import { UapiServer } from '../uapi/server.js';
import { ERRNO_INVALID, ERRNO_IO, ERRNO_PORT_IN_USE, UapiError } from '../uapi/protocol.js';
import { Device } from '../wireguard/device.js';
import { aeadImplementation } from '../wireguard/aead.js';
import { DEFAULT_MTU } from '../wireguard/constants.js';
import type { ProtocolLimits } from '../wireguard/peer.js';
import { formatPrefix, makeEndpoint, type Endpoint } from '../../shared/net/address.js';
import { parseIp } from '../../shared/net/ip-bytes.js';
import { BatchUdpSocket } from './batch-udp-socket.js';
import { offloadSwitches } from './offload-switches.js';
import { describeOffloads, offloadCounters } from './offload-report.js';
import { ControlSocket, type ControlHandler } from './control-socket.js';
import { deviceStatus, type DeviceStatus } from './status.js';
import { EngineTimer } from './engine-timer.js';

export interface TunnelOptions {
  ifname: string;
  config: TunnelConfig;
  log: Logger;
  limits?: Partial<ProtocolLimits>;
  uapiDir?: string;
  controlDir?: string;
  /**
   * Sees every datagram before the engine and returns true for those it consumed (the join
   * agent takes STUN and disco off the shared socket this way).
   */
  intercept?: (data: Buffer, from: Endpoint) => boolean;
  /**
   * Sees every datagram the engine sends and returns true for those it takes over (the join
   * agent sends packets for relayed paths through their relay this way).
   */
  outbound?: (data: Buffer, to: Endpoint) => boolean;
  /** Completes the control socket's status answer (the join agent adds names, paths, RTTs). */
  status?: (base: DeviceStatus) => DeviceStatus;
  /** More control socket operations, e.g. the join agent's `ping`. */
  controlHandlers?: Record<string, ControlHandler>;
  /** Runs once the TUN device exists, before it is configured (wg-quick's PreUp). */
  beforeConfigure?: (ifname: string) => Promise<void>;
}

export class Tunnel {
  private engineTimer: EngineTimer | undefined;
  private closed = false;
  private readonly closedCallbacks: ((reason: string) => void)[] = [];
  private readonly defaultRoutes: DefaultRoute[] = [];

  private constructor(
    readonly device: Device,
    private readonly tun: TunDevice,
    private udp: BatchUdpSocket,
    private uapi: UapiServer | undefined,
    private control: ControlSocket | undefined,
    private readonly log: Logger,
    private readonly intercept: ((data: Buffer, from: Endpoint) => boolean) | undefined,
  ) {}

  /** Every datagram of the UDP socket enters here: the intercept first, then the engine. */
  private receive(data: Buffer, from: Endpoint): void {
    if (this.intercept?.(data, from)) return;
    this.device.receive(data, from);
  }

  static async start(opts: TunnelOptions): Promise<Tunnel> {
    const { config, ifname, log } = opts;
    const mtu = config.interface.mtu ?? DEFAULT_MTU;
    // Resolve names first: a typo should fail before we touch the system.
    const endpoints = await Promise.all(config.peers.map((p) => (p.endpoint ? resolveEndpoint(p.endpoint.host, p.endpoint.port) : undefined)));

    let tunRef: TunDevice | undefined;
    let udpRef: BatchUdpSocket | undefined;
    let tunnel: Tunnel | undefined;
    const device = new Device({
      privateKey: config.interface.privateKey,
      mtu,
      limits: opts.limits,
      output: {
        // Queued, and sent with one sendmmsg when the TUN or UDP wake-up that caused them ends
        // (or in a microtask at the latest, e.g. for timer-driven handshakes and keepalives).
        udp: (data, to) => {
          if (opts.outbound?.(data, to)) return;
          (tunnel ? tunnel.udp : udpRef)?.enqueue(data, to);
        },
        // Queued too, so a wake-up's packets of one TCP flow reach the kernel as one write.
        tun: (packet) => tunRef?.queueWrite(packet),
      },
    });
    const tun = TunDevice.open({ name: ifname, mtu, offload: offloadSwitches().tunOffload });
    tunRef = tun;
    let udp: BatchUdpSocket;
    // A receive failure before the Tunnel exists waits for it (it can only come between ticks).
    let earlyUdpError: Error | undefined;
    try {
      await opts.beforeConfigure?.(tun.name);
      udp = await BatchUdpSocket.bind(
        config.interface.listenPort ?? 0,
        (d, from) => (tunnel ? tunnel.receive(d, from) : device.receive(d, from)),
        () => {
          (tunnel ? tunnel.udp : udpRef)?.flush();
          tun.flushWrites();
        },
        (err) => (tunnel ? void tunnel.reopenUdp(udp, err) : (earlyUdpError = err)),
      );
      udpRef = udp;
      device.listenPort = udp.port;
      device.fwmark = config.interface.fwmark ?? 0;
      if (device.fwmark) udp.setMark(device.fwmark);
      for (const a of config.interface.addresses) await addAddress(tun.name, a);
    } catch (e) {
      tun.close();
      udpRef?.close();
      throw e;
    }

    const t = new Tunnel(device, tun, udp, undefined, undefined, log, opts.intercept);
    tunnel = t;
    if (earlyUdpError) void t.reopenUdp(udp, earlyUdpError);
    const routes: string[] = [];
    config.peers.forEach((pc, i) => {
      const peer = device.addPeer(pc.publicKey, pc.presharedKey);
      if (!peer) {
        log.warn('skipping a peer whose public key is our own', { publicKey: pc.publicKey.toString('base64') });
        return;
      }
      peer.endpoint = endpoints[i];
      for (const prefix of pc.allowedIps) {
        device.allowedIps.insert(prefix, peer);
        routes.push(formatPrefix(prefix));
      }
    });
    // Table: off adds no routes; a number takes them all, /0 too (as wg-quick); auto is below.
    const table = config.interface.table ?? 'auto';
    for (const r of routes) {
      if (table === 'off' || (table === 'auto' && r.endsWith('/0'))) continue;
      await addRoute(tun.name, r, table === 'auto' ? undefined : table).catch((e: Error) => log.debug('route not added', { route: r, error: e.message }));
    }
    try {
      if (table === 'auto') await t.routeDefaults(routes);
      t.uapi = await UapiServer.listen(tun.name, device, { setListenPort: (p) => t.rebind(p), setFwmark: (m) => t.setFwmark(m) }, opts.uapiDir);
      const status = () => {
        const base = deviceStatus(device, tun.name, config.interface.addresses[0]);
        Object.assign(base.counters, offloadCounters(tun, t.udp));
        return opts.status ? opts.status(base) : base;
      };
      t.control = await ControlSocket.listen(tun.name, { ...opts.controlHandlers, status }, opts.controlDir);
    } catch (e) {
      t.close('startup failed');
      throw e;
    }

    tun.onPackets((packets) => {
      for (const p of packets) device.sendPacket(p);
      t.udp.flush(); // this wake-up's datagrams in one sendmmsg
    });
    tun.onError((err) => {
      log.error('TUN device failed; shutting down', { error: err.message });
      t.close('tun device gone');
    });
    // Start the engine's timers and the peers' persistent keepalives.
    t.engineTimer = new EngineTimer(device);
    config.peers.forEach((pc) => device.getPeer(pc.publicKey)?.setPersistentKeepalive(pc.persistentKeepalive, true));
    t.uapi!.onLost(() => {
      log.info('control socket removed; shutting down');
      t.close('control socket removed');
    });
    log.info('tunnel up', { interface: tun.name, listenPort: udp.port, mtu, peers: device.listPeers().length, offloads: describeOffloads(tun, udp), aead: aeadImplementation() });
    return t;
  }

  get ifname(): string {
    return this.tun.name;
  }

  get listenPort(): number {
    return this.device.listenPort;
  }

  /** True when the socket also reaches IPv6 peers. */
  get dualStack(): boolean {
    return this.udp.dualStack;
  }

  /** Sends a datagram of another protocol (STUN, disco) from the WireGuard socket. */
  sendDatagram(data: Buffer, to: Endpoint): void {
    if (this.closed) return;
    try {
      this.udp.send(data, to);
    } catch (e) {
      this.log.debug('datagram not sent', { error: (e as Error).message });
    }
  }

  /** Queues a datagram for the socket's next batch (flushed when this wake-up ends). */
  queueDatagram(data: Buffer, to: Endpoint): void {
    if (this.closed) return;
    this.udp.enqueue(data, to);
  }

  /** Moves the interface from address `from` (if any) to `to`, both "ip/bits". */
  async replaceAddress(from: string | undefined, to: string): Promise<void> {
    await addAddress(this.tun.name, to);
    if (from && from !== to) await removeAddress(this.tun.name, from);
  }

  /** Routes `cidr` into the TUN (replacing any route for the same prefix). */
  async addRoute(cidr: string): Promise<void> {
    await addRoute(this.tun.name, cidr);
  }

  /** Removes the TUN's route for `cidr` (one already gone counts as removed). */
  async removeRoute(cidr: string): Promise<void> {
    await removeRoute(this.tun.name, cidr);
  }

  /** A socket on `port` feeding this tunnel. Throws UapiError: PORT_IN_USE, or IO for a refused fwmark. */
  private async bindUdp(port: number): Promise<BatchUdpSocket> {
    let fresh: BatchUdpSocket;
    try {
      fresh = await BatchUdpSocket.bind(
        port,
        (d, from) => this.receive(d, from),
        () => {
          this.udp.flush();
          this.tun.flushWrites();
        },
        (err) => void this.reopenUdp(fresh, err),
      );
    } catch (e) {
      throw new UapiError(ERRNO_PORT_IN_USE, (e as Error).message);
    }
    if (this.device.fwmark) {
      try {
        fresh.setMark(this.device.fwmark);
      } catch (e) {
        fresh.close();
        throw new UapiError(ERRNO_IO, (e as Error).message);
      }
    }
    return fresh;
  }

  /**
   * The socket stopped receiving (a poll or fatal read error): peers would go unheard, so it is
   * replaced by a new one on the same port with the same fwmark. If that fails the tunnel closes.
   */
  private async reopenUdp(failed: BatchUdpSocket, err: Error): Promise<void> {
    if (this.closed || failed !== this.udp) return;
    const port = this.device.listenPort;
    this.log.error('UDP socket failed; reopening it on the same port', { listenPort: port, error: err.message });
    // The port is ours until this close: it must be free for the new socket.
    failed.flush();
    failed.close();
    try {
      const fresh = await this.bindUdp(port);
      if (this.closed) {
        fresh.close();
        return;
      }
      this.udp = fresh;
      this.log.info('UDP socket reopened', { listenPort: fresh.port });
    } catch (e) {
      this.log.error('UDP socket cannot be reopened; shutting down', { listenPort: port, error: (e as Error).message });
      this.close(`UDP socket on port ${port} failed and could not be reopened (${(e as Error).message})`);
    }
  }

  /** Test-only: forces a poll error on the UDP socket (the addon needs WGP2P_TEST_HOOKS=1). */
  injectUdpPollError(errno: number): void {
    this.udp.injectPollError(errno);
  }

  /** `wg set … listen-port`: bind the new port first, so a busy port leaves the old one working. */
  private async rebind(port: number): Promise<void> {
    if (port === this.device.listenPort && port !== 0) return;
    const fresh = await this.bindUdp(port);
    const old = this.udp;
    this.udp = fresh;
    old.flush(); // what was queued before the switch still leaves, from the old port
    old.close();
    this.device.listenPort = fresh.port;
    this.log.info('listen port changed', { listenPort: fresh.port });
  }

  /**
   * A peer with 0.0.0.0/0 or ::/0 takes the default route, as with wg-quick: through a table of
   * its own (the fwmark, or the first free table from 51820, which then also becomes the fwmark),
   * for unmarked traffic.
   */
  private async routeDefaults(routes: string[]): Promise<void> {
    const families = [...new Set(routes.filter((r) => r.endsWith('/0')).map((r) => (r.includes(':') ? 6 : 4) as 4 | 6))];
    if (families.length === 0) return;
    if (!this.device.fwmark) {
      const table = freeDefaultRouteTable();
      this.udp.setMark(table);
      this.device.fwmark = table;
    }
    const table = this.device.fwmark;
    for (const family of families) {
      try {
        this.defaultRoutes.push(await routeDefaultThroughTunnel(this.tun.name, family, table));
      } catch (e) {
        throw new Error(`cannot route the IPv${family} default through ${this.tun.name}: ${(e as Error).message}`);
      }
      this.log.info('default route through the tunnel', { family: `IPv${family}`, table, fwmark: table });
    }
  }

  /** `wg set … fwmark`: applied to the socket first, so a refused mark leaves the old one. */
  private setFwmark(mark: number): void {
    if (mark === this.device.fwmark) return;
    if (this.defaultRoutes.length > 0) {
      // The rules match the mark: another one would send our own datagrams into the tunnel.
      throw new UapiError(ERRNO_INVALID, `fwmark ${this.device.fwmark} is what the default route's rules match (table ${this.defaultRoutes[0]!.table}); it cannot change while they stand`);
    }
    try {
      this.udp.setMark(mark);
    } catch (e) {
      this.log.warn('fwmark not set', { fwmark: mark, error: (e as Error).message });
      throw new UapiError(ERRNO_IO, (e as Error).message);
    }
    this.device.fwmark = mark;
    this.log.info('fwmark changed', { fwmark: mark });
  }

  onClosed(cb: (reason: string) => void): void {
    this.closedCallbacks.push(cb);
  }

  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.engineTimer?.stop();
    this.uapi?.close();
    this.control?.close();
    for (const r of this.defaultRoutes.splice(0)) r.remove();
    this.udp.close();
    this.tun.close();
    this.log.info('tunnel down', { interface: this.tun.name, reason });
    for (const cb of this.closedCallbacks) cb(reason);
  }
}

async function resolveEndpoint(host: string, port: number): Promise<Endpoint> {
  // A literal may carry a zone (fe80::1%eth0), which makeEndpoint keeps; parseIp is strict.
  if (parseIp(host.split('%')[0]!)) return makeEndpoint(host, port);
  try {
    const r = await lookup(host);
    return makeEndpoint(r.address, port);
  } catch (e) {
    throw new Error(`cannot resolve endpoint host "${host}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
