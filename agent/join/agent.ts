// The join agent: one room, one tunnel. The composition root: it builds the parts (room members
// and their lifecycle, path finding, relayed paths, the path arbiter, signalling, NAT discovery)
// over three ports (ports.ts: a clock, the tunnel, the signalling connection) and feeds them the
// inputs: server frames, datagrams and the clock's ticks. host.ts plugs in the real ports. The
// server going away only pauses discovery of new members: tunnels, paths and heartbeats carry on.
import { formatEndpoint, type Endpoint } from '../../shared/net/address.js';
import { formatKey } from '../../shared/keys.js';
import type { WelcomeMessage } from '../../shared/signal/protocol.js';
import type { RoomCredentials } from '../../shared/signal/room-key.js';
import { AnnouncementGuard } from './room/announcement.js';
import { LocalCandidates } from './nat/local-candidates.js';
import { StunClient } from '../../shared/stun/client.js';
import { describe, PathKeeper } from './paths/direct/path-keeper.js';
import { PathFinder, DEFAULT_PUNCH_TIMING } from './paths/direct/punch.js';
import { PathArbiters } from './paths/arbiter.js';
import { ExtraSockets } from './paths/direct/extra-sockets.js';
import { BirthdayPunch } from './paths/direct/birthday-runner.js';
import { ServerSeen } from './paths/direct/birthday-attest.js';
import { RelayLinks } from './paths/relay/relay-links.js';
import { DEFAULT_RELAY_TIMING, RelayPaths } from './paths/relay/relay-paths.js';
import { derivePairKeys } from './room/pair-keys.js';
import { PrivateKey } from '../wireguard/crypto.js';
import { PeerMessageGuard } from './room/peer-message.js';
import { AddressRouting } from './room/address-routing.js';
import { MemberLifecycle } from './room/lifecycle.js';
import { OwnAddress } from './room/own-address.js';
import { formatSubnet, inSubnet } from './room/room-address.js';
import { RoomMembers } from './room/room-members.js';
import { Bounce } from './roles/bounce.js';
import { JoinControl } from './observe/control.js';
import { RoomSignalling } from './signalling/dispatch.js';
import { DatagramInput } from './datagrams.js';
import { JoinTicker } from './tick.js';
import { StunService } from './nat/stun-service.js';
import type { JoinPorts } from './ports.js';
import { useServerRelays } from './paths/relay/server-relays.js';
import { RoomNames } from './names/room-names.js';
import { RoomRoutes } from './routes/room-routes.js';
import { namedMembers } from './names/name-table.js';
import { AgentCounters } from './observe/counters.js';
import { portmapChanged } from './nat/portmap-candidate.js';
import type { JoinAgentOptions } from './options.js';
import { roomMembership, type RoomMembership } from './membership/room-membership.js';

export type { JoinAgentOptions } from './options.js';

export class JoinAgent {
  readonly counters: Map<string, number>;
  private readonly tally: AgentCounters;
  readonly members: RoomMembers;
  readonly arbiters: PathArbiters;
  readonly bounce: Bounce | undefined;
  readonly control: JoinControl;
  readonly local: LocalCandidates;
  readonly own: OwnAddress;
  readonly paths: PathKeeper;
  readonly relayed: RelayPaths;
  readonly links: RelayLinks;
  readonly signalling: RoomSignalling;
  readonly lifecycle: MemberLifecycle;
  readonly stun: StunClient;
  readonly datagrams: DatagramInput;
  readonly stunService: StunService;
  readonly names: RoomNames | undefined;
  readonly routes: RoomRoutes;
  readonly sockets: ExtraSockets | undefined;
  readonly birthday: BirthdayPunch;
  readonly membership: RoomMembership | undefined;
  private readonly ticker: JoinTicker;
  /** Our member id at the server, kept while offline: bounces still know us by it. */
  private lastMemberId: string | undefined;
  private closed = false;
  private closing: Promise<void> = Promise.resolve();

  constructor(
    readonly o: JoinAgentOptions,
    room: RoomCredentials,
    readonly ports: JoinPorts,
    address: string,
  ) {
    const { clock, tunnel, signal } = ports;
    const log = o.log;
    this.tally = new AgentCounters(log);
    this.counters = this.tally.values;
    const count = (what: string) => this.tally.count(what);
    const timing = o.punchTiming ?? DEFAULT_PUNCH_TIMING;
    const relayTiming = { ...DEFAULT_RELAY_TIMING, ...o.relayTiming };
    const staticKey = new PrivateKey(o.identity.privateKey);
    this.members = new RoomMembers((a) => ({ key: formatKey(a.publicKey), publicKey: a.publicKey, keys: derivePairKeys(room.key, staticKey, a.publicKey), finder: new PathFinder(timing) }));
    this.stun = new StunClient((d, to) => tunnel.sendDatagram(d, to), clock);
    const { interfaces, probeFiltering } = ports;
    this.local = new LocalCandidates({ stun: this.stun, stunServer: () => this.stunService.server, port: () => tunnel.listenPort, excludeInterfaces: [tunnel.ifname], excludeAddress: (a) => inSubnet(a, o.subnet), ipv6: tunnel.dualStack, interfaces, probeFiltering });
    this.arbiters = new PathArbiters({ engine: tunnel.engine, log, ourNat: () => this.local.nat, relayBudgetMs: () => relayTiming.budgetMs });
    this.links = new RelayLinks({ queue: (d, to) => tunnel.queueDatagram(d, to), sendWs: (frame) => signal.sendBinary(frame), log, linkDown: (link) => this.relayed.linkDown(link), inUse: (link) => this.relayed.uses(link), wake: () => this.ticker.poke() });
    this.relayed = new RelayPaths({ engine: tunnel.engine, links: this.links, members: this.members, arbiters: this.arbiters, clock, log, count }, relayTiming);
    if (o.bounce) this.bounce = new Bounce(this.members, (d) => tunnel.queueDatagram(d.data, d.to));
    const openSocket = tunnel.openSocket?.bind(tunnel);
    this.sockets = openSocket && new ExtraSockets({ open: openSocket, count, deliver: (d, from) => void (this.onDatagram(d, from) || tunnel.engine.receive(d, from)) });
    const announceUpdate = () => this.signalling.announceUpdate();
    const { arbiters, links, members } = this;
    this.paths = new PathKeeper({ sockets: this.sockets, tunnel, arbiters, clock, local: this.local, members, log, count, announceUpdate, requestPunch: (m, startInMs) => this.signalling.requestPunch(m, startInMs), signalRttMs: () => this.signalling.rttMs, wake: () => this.ticker.poke() });
    const seen = new ServerSeen();
    this.birthday = new BirthdayPunch({ members: this.members, arbiters: this.arbiters, paths: this.paths, sockets: this.sockets, ourNat: () => this.local.nat, log, timing: o.birthdayTiming, enabled: o.birthday !== false, seen, count });
    const routing = new AddressRouting(tunnel.engine, o.subnet, o.identity.publicKey, log, o.useHub);
    this.routes = new RoomRoutes(o.routes ?? {}, { engine: tunnel.engine, tunnel, subnet: o.subnet, exitRoute: ports.exitRoute, interfaces: ports.interfaces, log, count });
    const membersChanged = () => {
      this.own.resolve();
      this.routes.apply(this.members.all());
    };
    this.own = new OwnAddress({ tunnel, routing, members: this.members, subnet: o.subnet, publicKey: o.identity.publicKey, fixed: o.fixedAddress, clock, log, moved: () => this.addressMoved() }, address);
    this.names = o.names && ports.dns ? new RoomNames(o.names, { dns: ports.dns, members: () => namedMembers({ key: formatKey(o.identity.publicKey), name: o.name, address: this.own.address, since: this.signalling.self.since }, this.members.all()), now: () => clock.now(), count, log }) : undefined;
    this.membership = roomMembership(o.membership, { self: o.identity.publicKey, name: o.name, members: this.members, send: (to, st) => this.signalling.sendStatement(to.memberId, st, derivePairKeys(room.key, staticKey, to.publicKey).messageKey), announceUpdate: () => this.signalling.announceUpdate(), drop: (m, why) => this.lifecycle.remove(m, why), wallNow: () => clock.wallNow(), log, count });
    const guard = new AnnouncementGuard(room, o.identity.publicKey);
    const messages = new PeerMessageGuard(room, (id, key) => (this.members.get(key)?.memberId === id ? this.members.get(key)!.keys.messageKey : undefined));
    const { paths, relayed, bounce } = this;
    this.lifecycle = new MemberLifecycle({ membership: this.membership, members, guard, messages, engine: tunnel.engine, keepaliveSeconds: o.keepaliveSeconds, paths, arbiters, relayed, links, bounce, weBounce: !!o.bounce, dualStack: tunnel.dualStack, memberId: () => signal.memberId, lastMemberId: () => this.lastMemberId, clock, log, count, membersChanged });
    const self = { publicKey: o.identity.publicKey, privateKey: o.identity.privateKey, name: o.name, since: clock.wallNow(), bounce: o.bounce, hub: o.hub, routes: o.routes?.advertise, exitNode: o.routes?.advertiseExitNode, exitNode6: o.routes?.exitNodeIpv6 };
    const unreachableOverWs = (id: string) => {
      const ws = this.links.get('ws');
      if (ws) relayed.onUnreachable(ws, id);
    };
    this.signalling = new RoomSignalling({ room, self, signal, lifecycle: this.lifecycle, clock, log, address: () => ({ address: this.own.address, since: this.own.since }), candidates: () => this.local.list(), nat: () => this.local.nat, welcomed: (w) => this.onWelcome(w), membersChanged, membership: () => this.membership, unreachableOverWs, seen });
    this.datagrams = new DatagramInput({ stun: this.stun, paths: this.paths, links: this.links, relayed: this.relayed, bounce: this.bounce, clock, count });
    this.stunService = new StunService({ local: this.local, paths: this.paths, resolve: ports.resolveStun, port: ports.stunPort, log, announceUpdate: () => this.signalling.announceUpdate() });
    this.ticker = new JoinTicker({ clock, log, members: this.members, useHub: o.useHub, local: this.local, paths: this.paths, relayed: this.relayed, links: this.links, arbiters: this.arbiters, lifecycle: this.lifecycle, bounce: this.bounce, signal, signalling: this.signalling, stun: this.stunService, birthday: this.birthday, membersChanged, guarded: (what, fn) => this.guarded(what, fn) });
    this.control = new JoinControl({ members: this.members, arbiters: this.arbiters, paths: this.paths, relayed: this.relayed, bounce: this.bounce, signal, counters: this.counters, useHub: o.useHub, self: () => ({ name: o.name, address: this.own.address, dnsName: this.names?.names.fqdn(formatKey(o.identity.publicKey)), portmap: this.local.portmapEndpoint && formatEndpoint(this.local.portmapEndpoint), ...this.routes.status() }), names: () => this.names?.names, local: this.local, listenPort: () => tunnel.listenPort, portmapEnabled: !!ports.portmap, birthday: (m) => this.birthday.report(m, clock.now()), describeEndpoint: (e) => this.sockets?.describe(e) });
  }

  get address(): string {
    return this.own.address;
  }

  /** Starts joining: our candidates first, then the signalling connection and the clock. */
  async begin(serverUrl: string, roomName: string): Promise<void> {
    await this.ports.tunnel.addRoute(formatSubnet(this.o.subnet)).catch((e: Error) => this.o.log.debug('room route not replaced', { error: e.message }));
    await this.stunService.begin();
    await this.names?.listen(this.address);
    this.o.log.info('joining', { room: roomName, server: serverUrl, name: this.o.name, address: this.address, publicKey: formatKey(this.o.identity.publicKey), candidates: describe(this.local.list()) });
    this.ports.signal.start({
      welcome: (w) => this.guarded('welcome', () => this.signalling.onWelcome(w)),
      message: (m) => this.guarded('server message', () => this.signalling.onServerMessage(m)),
      binary: (frame) => this.guarded('relay frame', () => this.datagrams.onWsFrame(frame)),
      disconnected: () => {
        this.links.serverGone();
        this.ticker.poke();
      },
    });
    this.ticker.start();
    this.ports.tunnel.engine.onActivity?.(() => this.ticker.poke()); // idle paths wake up with the traffic
    this.stunService.discoverNat();
    const portmap = { local: this.local, log: this.o.log, announceUpdate: () => this.signalling.announceUpdate(), closed: () => this.closed };
    this.ports.portmap?.start(this.ports.tunnel.listenPort, (e) => this.guarded('port mapping', () => portmapChanged(portmap, e)));
  }

  private addressMoved(): void {
    this.signalling.announceUpdate();
    void this.names?.listen(this.own.address);
  }

  private onWelcome(w: WelcomeMessage): void {
    this.lastMemberId = w.id;
    if (w.stunPort !== undefined && w.stunPort !== this.stunService.server?.port) void this.stunService.usePort(w.stunPort);
    const ports = this.ports;
    useServerRelays({ links: this.links, stunServer: () => this.stunService.server, resolve: ports.resolveStun, memberId: () => ports.signal.memberId, signalRttMs: () => this.signalling.rttMs, log: this.o.log }, w);
  }

  /** The engine's send path: relayed paths and birthday sockets take their virtual endpoints' datagrams. */
  outbound(data: Buffer, to: Endpoint): boolean {
    return this.relayed.send(data, to) || (this.sockets?.send(data, to) ?? false);
  }

  /** The tunnel's intercept: STUN, disco and relay datagrams are ours, WireGuard goes to the engine. */
  onDatagram(data: Buffer, from: Endpoint): boolean {
    return this.datagrams.onDatagram(data, from, (fn) => this.guarded('datagram', fn));
  }

  /** Runs one event handler: a bug on one input costs that input only (observe/counters.ts). */
  guarded<T>(what: string, fn: () => T): T | undefined {
    try {
      return this.tally.guarded(what, fn);
    } finally {
      this.ticker.poke(); // an input may have made something due: the clock may be asleep
    }
  }

  /** A new persistent keepalive for every member, now and later (a live config reload). */
  setKeepalive(seconds: number): void {
    this.lifecycle.setKeepalive(seconds);
    for (const m of this.members.all()) this.ports.tunnel.engine.setKeepalive(m.publicKey, seconds);
  }

  /** Stops everything; the promise settles once the gateway's mapping is deleted (if any). */
  close(reason = 'closed'): Promise<void> {
    if (this.closed) return this.closing;
    this.closed = true;
    this.closing = this.ports.portmap?.close().catch((e: Error) => this.o.log.warn('port mapping not deleted', { error: e.message })) ?? Promise.resolve();
    this.ticker.stop();
    this.signalling.sayGoodbye(this.members.all());
    this.ports.signal.close();
    this.paths.close();
    this.birthday.close();
    this.sockets?.closeAll();
    this.stun.close();
    this.names?.close();
    this.routes.close();
    this.ports.tunnel.close(reason);
    return this.closing;
  }
}
