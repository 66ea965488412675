// The join agent: one room, one tunnel. It announces us to the room through the signal server,
// turns every verified member into a WireGuard peer (pair preshared key, /32 allowed IP owned by
// address-routing.ts), and leaves finding and keeping a direct path to each to PathKeeper
// (path-keeper.ts; the decisions themselves are the pure PathFinder of punch.ts). This file wires
// the inputs (server frames, datagrams, timers, the control socket) to those parts. The server
// going away only pauses discovery of new members: tunnels, paths and heartbeats carry on.
import { randomBytes } from 'node:crypto';
import { formatEndpoint, makeEndpoint, sameEndpoint, type Endpoint } from '../../shared/net/address.js';
import { decodeRelayPacket, decodeWsFrame, RELAY_BIND, RELAY_BOUND, RELAY_CHALLENGE, RELAY_DATA, RELAY_UNREACHABLE } from '../../shared/relay/wire.js';
import { formatKey } from '../../shared/keys.js';
import type { ServerMessage, WelcomeMessage } from '../../shared/signal/protocol.js';
import { deriveRoomAsync, roomJoinProof, type RoomCredentials } from '../../shared/signal/room-key.js';
import { Tunnel } from '../daemon/tunnel.js';
import type { DeviceStatus } from '../daemon/status.js';
import type { Logger } from '../../shared/log.js';
import { AnnouncementGuard, ANNOUNCE_REFRESH_MS, sealAnnouncement } from './announcement.js';
import type { BackoffPolicy } from './backoff.js';
import { MAX_CANDIDATES } from './candidates.js';
import { classifyDatagram } from './disco.js';
import type { Identity } from './identity.js';
import { LocalCandidates } from './local-candidates.js';
import { describe, PathKeeper } from './path-keeper.js';
import { derivePairKeys } from './pair-keys.js';
import { PeerMessageGuard, sealBye, sealPunchRequest } from './peer-message.js';
import { PathFinder, DEFAULT_PUNCH_TIMING, type PunchTiming } from './punch.js';
import { AddressRouting } from './address-routing.js';
import { serveAgentMetrics } from './metrics-http.js';
import { enableHubForwarding } from './hub-forwarding.js';
import type { Server } from 'node:http';
import { Bounce } from './bounce.js';
import { bounceBindAuth } from './bounce-auth.js';
import { RelayLinks } from './relay-links.js';
import { RelayPaths, type RelayTiming } from './relay-paths.js';
import { joinStatus } from './join-status.js';
import { candidateAddress, chooseAddress, formatSubnet, inSubnet, type RoomSubnet } from './room-address.js';
import { RoomMembers, type Member } from './room-members.js';
import { SignalClient } from './signal-client.js';
import { warmUpSignatures } from './xeddsa.js';
import { resolveStunServer } from './stun-server.js';
import { StunTransactions } from './stun-transactions.js';

export interface JoinOptions {
  roomName: string;
  secret: string;
  serverUrl: string;
  token?: string;
  /** The server's STUN port (it runs on the URL's host). */
  stunPort: number;
  name: string;
  identity: Pick<Identity, 'privateKey' | 'publicKey'>;
  /** The room subnet, and our address in it when fixed with --address. */
  subnet: RoomSubnet;
  fixedAddress?: string;
  listenPort: number;
  ifname: string;
  keepaliveSeconds: number;
  mtu?: number;
  log: Logger;
  punchTiming?: PunchTiming;
  reconnect?: BackoffPolicy;
  controlDir?: string;
  uapiDir?: string;
  /** Relay other members' WireGuard packets (`--bounce`). */
  bounce?: boolean;
  /** Forward decrypted room traffic for members that have no other path (`--hub`). */
  hub?: boolean;
  /** Serve Prometheus metrics on this address (`--metrics-listen`). */
  metricsListen?: Endpoint;
  relayTiming?: Partial<RelayTiming>;
}

const TICK_MS = 20;
/**
 * The TUN MTU of a join agent. WireGuard's usual 1420 leaves no room on a 1500-byte path for the
 * relay's header (5 bytes + a member id) when the outer path is IPv6; 1380 fits it with IPv4 or
 * IPv6 outside, so a path can move between direct and relayed without an MTU black hole.
 */
export const JOIN_DEFAULT_MTU = 1380;
const HOST_POLL_MS = 5_000;
const STUN_REFRESH_MS = 30_000;
/** A tick gap this long means the machine slept: every path is suspect. */
const SLEEP_GAP_MS = 10_000;
/**
 * A member the server no longer lists (it left without a goodbye, or we reconnected and it is not
 * back yet) is kept while its path answers, and dropped once it has had none for this long.
 */
const ORPHAN_GRACE_MS = 30_000;
/** A punch request for a session this young with the same candidates does not restart it. */
const YOUNG_SESSION_MS = 1_000;

const mono = () => performance.now();

export class JoinAgent {
  readonly counters = new Map<string, number>();
  address: string;
  private readonly members: RoomMembers;
  private readonly guard: AnnouncementGuard;
  private readonly messages: PeerMessageGuard;
  private readonly signal: SignalClient;
  private readonly stun: StunTransactions;
  private readonly local: LocalCandidates;
  private readonly routing: AddressRouting;
  private readonly paths: PathKeeper;
  private readonly links: RelayLinks;
  private readonly relayed: RelayPaths;
  readonly bounce: Bounce | undefined;
  /** Our member id at the server, kept while offline: bounces still know us by it. */
  private lastMemberId: string | undefined;
  /** What our join proof signs on the current connection (its welcome's nonce). */
  private joinNonce = '';
  private lastSweepAt = 0;
  private metricsServer: Server | undefined;
  private stunServer: Endpoint | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private lastTickAt = 0;
  private lastTickWall = 0;
  private lastHostPollAt = 0;
  private lastAnnounceAt = 0;
  private joinSentAt = 0;
  private signalRttMs: number | undefined;
  private movingAddress = false;
  private warnedFixedClash = false;
  private closed = false;
  private readonly log: Logger;

  private constructor(
    private readonly o: JoinOptions,
    private readonly room: RoomCredentials,
    readonly tunnel: Tunnel,
    address: string,
  ) {
    this.log = o.log;
    this.address = address;
    const timing = o.punchTiming ?? DEFAULT_PUNCH_TIMING;
    this.members = new RoomMembers((a) => ({
      key: formatKey(a.publicKey),
      publicKey: a.publicKey,
      keys: derivePairKeys(room.key, o.identity.publicKey, a.publicKey),
      finder: new PathFinder(timing),
    }));
    this.guard = new AnnouncementGuard(room, o.identity.publicKey);
    this.messages = new PeerMessageGuard(room, (id, key) => this.members.get(key)?.memberId === id);
    this.signal = new SignalClient({ url: o.serverUrl, token: o.token, log: o.log, backoff: o.reconnect });
    this.stun = new StunTransactions((d, to) => tunnel.sendDatagram(d, to));
    this.routing = new AddressRouting(tunnel.device, o.subnet, o.identity.publicKey, o.log);
    this.local = new LocalCandidates({
      stun: this.stun,
      stunServer: () => this.stunServer,
      port: () => tunnel.listenPort,
      excludeInterfaces: [tunnel.ifname],
      excludeAddress: (a) => inSubnet(a, o.subnet),
      ipv6: tunnel.dualStack,
    });
    this.links = new RelayLinks({
      queue: (d, to) => tunnel.queueDatagram(d, to),
      sendWs: (frame) => this.signal.sendBinary(frame),
      log: o.log,
      linkDown: (link) => this.relayed.linkDown(link),
    });
    this.relayed = new RelayPaths(
      { tunnel, links: this.links, members: this.members, ourNat: () => this.local.nat, log: o.log, count: (what) => this.count(what) },
      o.relayTiming,
    );
    if (o.bounce) this.bounce = new Bounce(this.members, (d) => tunnel.queueDatagram(d.data, d.to));
    this.paths = new PathKeeper({
      tunnel,
      local: this.local,
      members: this.members,
      log: o.log,
      count: (what) => this.count(what),
      requestPunch: (m, startInMs) => this.requestPunch(m, startInMs),
      announceUpdate: () => this.announceUpdate(),
      signalRttMs: () => this.signalRttMs,
    });
  }

  /** Brings up the tunnel and starts joining; resolves once the tunnel runs (members come later). */
  static async start(o: JoinOptions): Promise<JoinAgent> {
    // scrypt runs on the thread pool while the tunnel comes up; the signature code warms up
    // (its first use costs ~90 ms) while we wait for `ip` commands: joining then waits for neither.
    const roomReady = deriveRoomAsync(o.roomName, o.secret);
    roomReady.catch(() => undefined); // awaited below; this only keeps it from counting as unhandled meanwhile
    setImmediate(warmUpSignatures);
    const address = o.fixedAddress ?? candidateAddress(o.identity.publicKey, o.subnet, 0);
    let agent: JoinAgent | undefined;
    const tunnel = await Tunnel.start({
      ifname: o.ifname,
      log: o.log,
      config: {
        interface: { privateKey: o.identity.privateKey, listenPort: o.listenPort, addresses: [`${address}/${o.subnet.bits}`], mtu: o.mtu ?? JOIN_DEFAULT_MTU, fwmark: undefined },
        peers: [],
        ignored: [],
      },
      intercept: (d, from) => agent?.onDatagram(d, from) ?? false,
      outbound: (d, to) => (agent ? agent.relayed.send(d, to) : false),
      status: (base) => (agent ? agent.status(base) : base),
      controlHandlers: { ping: (req) => (agent ? agent.ping(req) : Promise.reject(new Error('agent starting'))) },
      controlDir: o.controlDir,
      uapiDir: o.uapiDir,
    });
    let room: RoomCredentials;
    try {
      if (o.hub) enableHubForwarding(tunnel.ifname);
      room = await roomReady;
    } catch (e) {
      tunnel.close('startup failed');
      throw e;
    }
    agent = new JoinAgent(o, room, tunnel, address);
    try {
      await agent.begin();
      if (o.metricsListen) agent.metricsServer = await agent.serveMetrics(o.metricsListen);
    } catch (e) {
      agent.close();
      throw e;
    }
    return agent;
  }

  private serveMetrics(at: Endpoint): Promise<Server> {
    return serveAgentMetrics(at.address, at.port, {
      relay: () => this.bounce && { stats: this.bounce.relay.stats, bindings: this.bounce.relay.bindingCount },
      peers: () => {
        const all = this.members.all();
        const direct = all.filter((m) => m.finder.active).length;
        const relayed = all.filter((m) => !m.finder.active && this.relayed.info(m)).length;
        return { direct, relayed, total: all.length };
      },
    });
  }

  private async begin(): Promise<void> {
    this.tunnel.onClosed(() => this.close());
    await this.tunnel.addRoute(formatSubnet(this.o.subnet)).catch((e: Error) => this.log.debug('room route not replaced', { error: e.message }));
    this.stunServer = await resolveStunServer(this.o.serverUrl, this.o.stunPort).catch((e: Error) => {
      this.log.warn('STUN server not resolved yet; public candidate unknown', { error: e.message });
      return undefined;
    });
    await this.local.refresh();
    this.paths.lastRefreshAt = this.lastHostPollAt = mono();
    this.log.info('joining', {
      room: this.o.roomName,
      server: this.o.serverUrl,
      name: this.o.name,
      address: this.address,
      publicKey: formatKey(this.o.identity.publicKey),
      candidates: describe(this.local.list()),
    });
    this.signal.start({
      welcome: (w) => this.guarded('welcome', () => this.onWelcome(w)),
      message: (m) => this.guarded('server message', () => this.onServerMessage(m)),
      binary: (frame) => this.guarded('relay frame', () => this.onWsFrame(frame)),
      // The server drops our UDP relay binding with the connection too: both links go at once.
      disconnected: () => {
        this.links.setWs(false, undefined);
        this.links.down('server', 'the signal connection closed');
      },
    });
    this.lastTickAt = mono();
    this.lastTickWall = Date.now();
    this.tickTimer = setInterval(() => this.guarded('tick', () => this.tick()), TICK_MS);
    this.discoverNat();
  }

  private discoverNat(): void {
    void this.local.discoverNat().then((changed) => {
      this.log.info('NAT behaviour', { ...this.local.nat, mapped: this.local.publicEndpoint && formatEndpoint(this.local.publicEndpoint) });
      if (changed) this.announceUpdate();
    }, (e: Error) => this.log.warn('NAT behaviour discovery failed', { error: e.message }));
  }

  // --- signalling ----------------------------------------------------------------------------

  private announcement(memberId: string): string {
    const candidates = this.local.list().slice(0, MAX_CANDIDATES);
    return sealAnnouncement(this.room, { publicKey: this.o.identity.publicKey, memberId, name: this.o.name, address: this.address, candidates, nat: this.local.nat, bounce: this.o.bounce, hub: this.o.hub }, this.o.identity.privateKey);
  }

  private onWelcome(w: WelcomeMessage): void {
    this.log.info('connected to the signal server', { memberId: w.id, serverId: w.serverId, seenAs: w.yourAddress, relayPort: w.relayPort, wsRelay: w.wsRelay });
    this.lastMemberId = w.id;
    this.joinNonce = w.nonce;
    if (w.stunPort !== undefined && w.stunPort !== this.stunServer?.port) void this.useStunPort(w.stunPort);
    this.useServerRelay(w);
    this.links.setWs(w.wsRelay === true, this.signalRttMs);
    this.links.rebindAll();
    this.sendJoin();
  }

  /** The server told us its STUN port: it beats --stun-port; learn our mapping there at once. */
  private async useStunPort(port: number): Promise<void> {
    try {
      this.stunServer = await resolveStunServer(this.o.serverUrl, port);
    } catch (e) {
      this.log.warn('STUN server not resolved', { error: (e as Error).message });
      return;
    }
    this.log.info('using the STUN port the server announced', { stunPort: port });
    this.paths.rediscover([]);
    this.discoverNat();
  }

  /** The server's UDP relay, when its welcome offers one (on the host of the server's URL). */
  private useServerRelay(w: WelcomeMessage): void {
    if (w.relayPort === undefined || w.relayToken === undefined) {
      this.links.remove('server', 'the server offers no UDP relay');
      return;
    }
    const token = Buffer.from(w.relayToken, 'base64url');
    const port = w.relayPort;
    const link = (host: Endpoint) =>
      this.links.upsert('server', 'server', 'server', [makeEndpoint(host.address, port)], () => {
        const id = this.signal.memberId;
        return id ? { id, auth: token } : undefined;
      });
    if (this.stunServer) link(this.stunServer);
    else void resolveStunServer(this.o.serverUrl, port).then(link, (e: Error) => this.log.warn('relay host not resolved', { error: e.message }));
  }

  private sendJoin(): void {
    const id = this.signal.memberId;
    if (!id) return;
    this.joinSentAt = mono();
    this.lastAnnounceAt = this.joinSentAt;
    this.signal.send({ type: 'join', room: this.room.roomId, announce: this.announcement(id), ...roomJoinProof(this.room, this.joinNonce), ref: 'join' });
  }

  private announceUpdate(): void {
    const id = this.signal.memberId;
    this.lastAnnounceAt = mono();
    if (id) this.signal.send({ type: 'update', room: this.room.roomId, announce: this.announcement(id) });
  }

  /** A punch request to `m` through the server (see PathKeeper.punch); dropped while offline. */
  private requestPunch(m: Member, startInMs: number): void {
    const from = this.signal.memberId;
    if (!from) return;
    const data = sealPunchRequest(this.room, {
      publicKey: this.o.identity.publicKey,
      from,
      to: m.memberId,
      session: randomBytes(9).toString('base64url'),
      candidates: this.local.list().slice(0, MAX_CANDIDATES),
      startInMs,
    });
    this.signal.send({ type: 'send', room: this.room.roomId, to: m.memberId, data });
  }

  private onServerMessage(m: ServerMessage): void {
    if ('room' in m && m.room !== this.room.roomId) return;
    switch (m.type) {
      case 'members': {
        this.signalRttMs = mono() - this.joinSentAt;
        const present = new Set<Member>();
        for (const info of m.members) {
          const member = this.onAnnouncement(info.id, info.announce);
          if (member) present.add(member);
        }
        // After a reconnect, members we knew may not be back yet: give them time (see tick).
        for (const member of this.members.all()) if (!present.has(member)) member.orphanSince ??= mono();
        this.log.info('in the room', { members: present.size });
        this.resolveAddresses();
        break;
      }
      case 'member-joined':
      case 'member-update':
        this.onAnnouncement(m.id, m.announce);
        this.resolveAddresses();
        break;
      case 'member-left': {
        // Without a goodbye it may only have lost the server: a working link stays up.
        const member = this.members.byMember(m.id);
        if (member && this.pathAnswers(member, mono())) {
          member.orphanSince ??= mono();
          this.log.info('member lost the signal server; keeping its link while it answers', { name: member.name });
        } else if (member) {
          this.removeMember(member, 'left the room');
        }
        break;
      }
      case 'message':
        this.onPeerMessage(m.from, m.data);
        break;
      case 'error':
        if (m.code === 'NO_SUCH_MEMBER' && m.member !== undefined) {
          // The WebSocket relay does not reach that member now: move it to another path.
          const ws = this.links.get('ws');
          if (ws) this.relayed.onUnreachable(ws, m.member);
          break;
        }
        this.log.warn('signal server error', { code: m.code, error: m.message, ref: m.ref });
        if (m.code === 'NOT_IN_ROOM') this.sendJoin();
        break;
      default:
        break;
    }
  }

  private count(what: string): void {
    this.counters.set(what, (this.counters.get(what) ?? 0) + 1);
  }

  private onAnnouncement(memberId: string, blob: string): Member | undefined {
    const r = this.guard.check(memberId, blob);
    if (!r.ok) {
      this.count('announce_rejected');
      this.count(`announce_rejected_${r.reason}`);
      this.log.warn('ignoring an announcement that does not verify', { memberId, reason: r.reason });
      return undefined;
    }
    const up = this.members.upsert(r.value);
    if (!up) {
      this.guard.forget(r.value.publicKey); // else the guard would remember every refused key
      this.count('announce_rejected');
      this.count('announce_rejected_room_full');
      return undefined;
    }
    if (up.replaced) this.removeMember(up.replaced, 'its connection now announces another key');
    const m = up.member;
    this.trackBounce(m);
    if (up.isNew) {
      const peer = this.tunnel.device.addPeer(m.publicKey, m.keys.presharedKey);
      peer?.setPersistentKeepalive(this.o.keepaliveSeconds, true);
      this.log.info('member joined', { name: m.name, address: m.address, publicKey: m.key, candidates: m.candidates.length, nat: m.nat });
    }
    if (up.candidatesChanged) this.paths.punch(m, up.isNew ? 'new member' : 'candidates changed', true);
    return m;
  }

  /**
   * A member that relays for the room is one of our relay links (bound with our pair key). Not for
   * a bounce: it is reachable itself, and a DATA from another bounce must mean "relay this", never
   * "this was relayed to you" (the two look alike on the wire).
   */
  private trackBounce(m: Member): void {
    if (!m.bounce || this.o.bounce) {
      this.links.remove(m.key, 'no longer a bounce');
      return;
    }
    const ordered = [...m.candidates.filter((c) => c.kind === 'public'), ...m.candidates.filter((c) => c.kind !== 'public')];
    const targets = ordered.map((c) => c.endpoint).filter((e) => e.family === 4 || this.tunnel.dualStack);
    this.links.upsert(m.key, 'bounce', m.name, targets, () => {
      const id = this.lastMemberId;
      return id ? { id, auth: bounceBindAuth(m.keys.relayKey, id) } : undefined;
    });
  }

  private onPeerMessage(fromId: string, blob: string): void {
    const ourId = this.signal.memberId;
    if (!ourId) return;
    const r = this.messages.check(fromId, ourId, blob);
    if (!r.ok) {
      this.count('message_rejected');
      this.count(`message_rejected_${r.reason}`);
      return;
    }
    const m = this.members.get(r.value.publicKey);
    if (!m || m.memberId !== fromId) {
      this.count('message_rejected');
      this.count('message_rejected_unknown_member');
      return;
    }
    if (r.value.kind === 'bye') {
      this.removeMember(m, 'said goodbye');
      return;
    }
    const now = mono();
    const fresh = r.value.candidates;
    const same = fresh.length === m.candidates.length && fresh.every((c) => m.candidates.some((x) => x.kind === c.kind && sameEndpoint(x.endpoint, c.endpoint)));
    if (!same) m.candidates = fresh;
    if (same && m.finder.state === 'punching' && now - m.punchStartedAt < YOUNG_SESSION_MS) return;
    // The sender starts probing about now: so do we.
    this.paths.punch(m, 'asked by peer', false);
  }

  // --- addresses -----------------------------------------------------------------------------

  /** Routes each member's address to it while it owns it; moves ours if a lower key claims it. */
  private resolveAddresses(): void {
    const members = this.members.all();
    if (this.routing.apply(members, this.address)) return;
    if (this.o.fixedAddress) {
      if (!this.warnedFixedClash) this.log.error('our --address is claimed by a member with a lower key; it wins', { address: this.address });
      this.warnedFixedClash = true;
      return;
    }
    void this.moveAddress(members);
  }

  private async moveAddress(members: Member[]): Promise<void> {
    if (this.movingAddress) return;
    this.movingAddress = true;
    const bits = this.o.subnet.bits;
    try {
      const taken = new Set(members.map((m) => m.address));
      const next = chooseAddress(this.o.identity.publicKey, this.o.subnet, (a) => taken.has(a));
      await this.tunnel.replaceAddress(`${this.address}/${bits}`, `${next}/${bits}`);
      this.log.warn('address collision: moved to the next address of our sequence', { from: this.address, to: next });
      this.address = next;
      this.announceUpdate();
    } catch (e) {
      this.log.error('cannot move our address', { error: (e as Error).message });
    } finally {
      this.movingAddress = false;
    }
  }

  // --- datagrams -----------------------------------------------------------------------------

  /** The tunnel's intercept: STUN and disco are ours, WireGuard and junk go to the engine. */
  onDatagram(data: Buffer, from: Endpoint): boolean {
    const kind = classifyDatagram(data);
    if (kind === 'wireguard') return false; // the hot path: nothing else to do here
    return this.guarded('datagram', () => this.onOtherDatagram(kind, data, from)) ?? true;
  }

  /**
   * Runs one event handler. Inputs are validated before they get here, but a bug on one input
   * must cost that input only, never the tunnels: log it, count it, carry on.
   */
  private guarded<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.count('internal_errors');
      this.log.error('internal error; input dropped', { in: what, error: (e as Error).stack ?? String(e) });
      return undefined;
    }
  }

  private onOtherDatagram(kind: ReturnType<typeof classifyDatagram>, data: Buffer, from: Endpoint): boolean {
    switch (kind) {
      case 'wireguard':
      case 'junk':
        return false;
      case 'stun':
        if (!this.stun.handle(data, from)) this.count('stun_unexpected');
        return true;
      case 'disco':
        this.paths.onDisco(data, from);
        return true;
      case 'relay':
        this.onRelayDatagram(data, from);
        return true;
    }
  }

  /** Relay datagrams: answers and deliveries from our relays, or (as a bounce) members' binds and data. */
  private onRelayDatagram(data: Buffer, from: Endpoint): void {
    const p = decodeRelayPacket(data);
    if (!p) return this.count('relay_malformed');
    const link = this.links.byEndpoint(from);
    if (p.type === RELAY_BOUND) return this.links.onBound(p.txid, from);
    if (p.type === RELAY_CHALLENGE) return this.links.onChallenge(p.txid, p.cookie, from);
    if (link && p.type === RELAY_DATA) return this.relayed.onRelayed(link, p.id, p.payload);
    if (link && p.type === RELAY_UNREACHABLE) return this.relayed.onUnreachable(link, p.id);
    if (this.bounce && (p.type === RELAY_BIND || p.type === RELAY_DATA)) return this.bounce.receive(data, from, mono());
    this.count('relay_unexpected');
  }

  /** A binary frame from the server: a packet relayed over the WebSocket. */
  private onWsFrame(frame: Buffer): void {
    const f = decodeWsFrame(frame);
    const link = this.links.get('ws');
    if (!f || !link) return this.count('relay_malformed');
    this.relayed.onRelayed(link, f.id, f.payload);
  }

  // --- time ----------------------------------------------------------------------------------

  private tick(): void {
    const now = mono();
    const wall = Date.now();
    // Linux's monotonic clock stands still while the machine is suspended; the wall clock does
    // not (a clock step also looks like a pause: re-discovering then costs little).
    const pausedMs = Math.max(now - this.lastTickAt, wall - this.lastTickWall);
    if (pausedMs > SLEEP_GAP_MS) {
      this.log.warn('woke up after a pause; re-discovering every path', { pausedMs: Math.round(pausedMs) });
      this.paths.rediscover(this.members.all());
    }
    this.lastTickAt = now;
    this.lastTickWall = wall;
    this.links.tick(now);
    if (this.bounce && now - this.lastSweepAt > 10_000) {
      this.lastSweepAt = now;
      this.bounce.sweep(now);
    }
    const hub = this.hub();
    let hubChanged = false;
    for (const m of this.members.all()) {
      this.paths.tick(m, now);
      this.relayed.tick(m, now);
      const viaHub = !!hub && m !== hub && this.relayed.stranded(m, now);
      if (viaHub !== m.viaHub) {
        m.viaHub = viaHub;
        hubChanged = true;
        this.log.info(viaHub ? 'no direct path and no relay: reaching the member through the hub' : 'the member no longer goes through the hub', { peer: m.name, hub: hub?.name });
      }
      if (this.pathAnswers(m, now)) m.pathSeenAt = now;
      if (m.orphanSince !== undefined && now - Math.max(m.orphanSince, m.pathSeenAt) > ORPHAN_GRACE_MS) this.removeMember(m, 'gone from the room, and its path too');
    }
    if (hubChanged) this.resolveAddresses();
    if (now - this.lastHostPollAt > HOST_POLL_MS) {
      this.lastHostPollAt = now;
      if (this.local.refreshHost()) {
        this.log.info('host addresses changed', { candidates: describe(this.local.list()) });
        // The signalling connection may come from an address we no longer have: renew it (the
        // welcome re-announces us), and meanwhile try the announcement on the old one.
        this.signal.reconnect('host addresses changed');
        this.announceUpdate();
        this.paths.rediscover(this.members.all());
      }
    }
    if (now - this.paths.lastRefreshAt > STUN_REFRESH_MS) {
      // Our NAT may have moved our mapping: rediscovery re-announces and re-punches if it did.
      this.paths.lastRefreshAt = now;
      if (this.stunServer) this.paths.rediscover([]);
      else void resolveStunServer(this.o.serverUrl, this.o.stunPort).then((e) => (this.stunServer = e), () => undefined);
    }
    if (now - this.lastAnnounceAt > ANNOUNCE_REFRESH_MS) this.announceUpdate();
  }

  /** We reach `m` on a path of our own: direct, or a relay that answers. */
  private pathAnswers(m: Member, now: number): boolean {
    return !!m.finder.active || this.relayed.answering(m, now);
  }

  private removeMember(m: Member, reason: string): void {
    this.members.remove(m);
    this.guard.forget(m.publicKey);
    this.relayed.forget(m);
    this.bounce?.forget(m.memberId);
    if (m.bounce) this.links.remove(m.key, 'left the room');
    this.tunnel.device.removePeer(m.publicKey);
    this.log.info('member removed', { name: m.name, address: m.address, reason });
    this.resolveAddresses();
  }

  // --- control socket --------------------------------------------------------------------------

  status(base: DeviceStatus): DeviceStatus {
    const signal = { signal_connects: this.signal.stats.welcomes, signal_attempts: this.signal.stats.attempts, signal_invalid_frames: this.signal.stats.invalidFrames };
    const counters = { ...Object.fromEntries(this.counters), ...signal, ...this.bounce?.counters() };
    return joinStatus(base, { name: this.o.name, address: this.address }, this.members, (m) => this.relayed.info(m) ?? this.hubInfo(m), counters);
  }

  /** The classic hub members route through when nothing else works: the lowest-keyed one. */
  private hub(): Member | undefined {
    let best: Member | undefined;
    for (const m of this.members.all()) if (m.hub && (!best || Buffer.compare(m.publicKey, best.publicKey) < 0)) best = m;
    return best;
  }

  private hubInfo(m: Member): { relay: string; endpoint: string; rttMs: number | undefined } | undefined {
    const hub = m.viaHub ? this.hub() : undefined;
    const endpoint = hub?.finder.active?.endpoint;
    return hub && { relay: `hub ${hub.name}`, endpoint: endpoint ? formatEndpoint(endpoint) : 'hub', rttMs: hub.finder.active?.rttMs };
  }

  /** `wgp2p ping PEER`: one disco probe on the peer's current path. */
  async ping(req: Record<string, unknown>): Promise<unknown> {
    const ref = req.peer;
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > 128) throw new Error('ping needs {"peer": NAME|ADDRESS|PUBLIC-KEY}');
    const m = this.members.find(ref);
    if (!m) throw new Error(`no member "${ref}" in the room`);
    if (m.viaHub) throw new Error(`${m.name} is reached through the hub: no path of our own to probe`);
    if (!m.finder.active) {
      const relayed = this.relayed.info(m);
      if (relayed) {
        const r = await this.relayed.pingOnce(m);
        return { name: m.name, address: m.address, publicKey: m.key, endpoint: relayed.endpoint, path: 'relay', relay: r.relay, rttMs: r.rttMs };
      }
    }
    const r = await this.paths.ping(m);
    return { name: m.name, address: m.address, publicKey: m.key, endpoint: formatEndpoint(r.endpoint), path: 'direct', rttMs: r.rttMs };
  }

  onClosed(cb: (reason: string) => void): void {
    this.tunnel.onClosed(cb);
  }

  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.tickTimer);
    // Goodbyes first, so members drop us at once instead of waiting for our path to die.
    const ourId = this.signal.memberId;
    if (ourId) {
      for (const m of this.members.all()) {
        this.signal.send({ type: 'send', room: this.room.roomId, to: m.memberId, data: sealBye(this.room, { publicKey: this.o.identity.publicKey, from: ourId, to: m.memberId }) });
      }
    }
    this.signal.close();
    this.metricsServer?.close();
    this.paths.close();
    this.stun.close();
    this.tunnel.close(reason);
  }
}
