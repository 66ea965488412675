// The WireGuard device: peers, the index table, cryptokey routing and the receive/send paths.
// Pure: datagrams and IP packets come in through method calls, go out through `DeviceOutput`,
// time comes from an injected clock, and `tick()` drives the timers: a driver calls it at
// `nextDeadline()` (and hears of earlier deadlines through `onTimerArmed`), so an idle device
// sleeps until a timer is due instead of waking on a fixed period.
import { randomBytes, randomInt } from 'node:crypto';
import type { Endpoint } from '../../shared/net/address.js';
import { messageType, MSG_COOKIE_REPLY, MSG_INITIATION, MSG_RESPONSE, MSG_TRANSPORT } from '../../shared/wire/wireguard.js';
import { AllowedIps } from './allowed-ips.js';
import {
  HANDSHAKE_INITIATION_RATE,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME,
  REKEY_TIMEOUT_JITTER_MAX,
  UNDER_LOAD_AFTER,
  UNDER_LOAD_HANDSHAKES,
  UNDER_LOAD_WINDOW,
} from './constants.js';
import { systemClock, type Clock } from './clock.js';
import { CookieChecker } from './cookie.js';
import { PrivateKey } from './crypto.js';
import { declaredLength, destinationOf, sourceOf } from './ip-packet.js';
import type { Keypair } from './keypair.js';
import { decodeCookieReply, decodeResponse, decodeTransportHeader, handshakeSender } from './messages.js';
import { consumeInitiation, consumeResponse } from './noise.js';
import { Peer, type PeerHost, type ProtocolLimits } from './peer.js';
import { HandshakeRateLimiter, LoadMonitor } from './rate-limiter.js';
import { compareTai64n } from './tai64n.js';

/** The rate limiter's full buckets are forgotten this often (memory only: a full bucket and none behave alike). */
const RATE_LIMITER_SWEEP_MS = 1000;

export interface DeviceOutput {
  udp(data: Buffer, to: Endpoint): void;
  tun(packet: Buffer): void;
}

export interface DeviceOptions {
  output: DeviceOutput;
  clock?: Clock;
  privateKey?: Buffer;
  mtu?: number;
  limits?: Partial<ProtocolLimits>;
  /** Random 0–333 ms jitter; injectable for deterministic tests. */
  jitter?: () => number;
}

interface IndexEntry {
  peer: Peer;
  keypair: Keypair | undefined; // undefined: our initiation in flight
}

export class Device implements PeerHost {
  readonly limits: ProtocolLimits;
  readonly clock: Clock;
  mtu: number;
  localKey: PrivateKey | undefined;
  listenPort = 0;
  fwmark = 0;
  /** Drop and event counters by reason, for diagnostics and tests. */
  readonly counters = new Map<string, number>();

  private readonly output: DeviceOutput;
  private readonly peers = new Map<string, Peer>(); // by base64 public key
  private readonly indices = new Map<number, IndexEntry>();
  readonly allowedIps = new AllowedIps<Peer>();
  private cookieChecker: CookieChecker | undefined;
  private readonly load = new LoadMonitor(UNDER_LOAD_HANDSHAKES, UNDER_LOAD_WINDOW, UNDER_LOAD_AFTER);
  private readonly rateLimiter = new HandshakeRateLimiter();
  private readonly jitterSource: () => number;
  private lastSweep = 0;
  /** Hears of every peer deadline set (the daemon re-arms its one timer when it is earlier). */
  onTimerArmed: ((at: number) => void) | undefined;
  /** Hears when data moves for a peer that was quiet (see Peer.noteData): idle watchers wake up. */
  onPeerActive: ((peer: Peer) => void) | undefined;

  constructor(opts: DeviceOptions) {
    this.output = opts.output;
    this.clock = opts.clock ?? systemClock;
    this.mtu = opts.mtu ?? 1420;
    this.limits = {
      rekeyAfterMessages: REKEY_AFTER_MESSAGES,
      rekeyAfterTime: REKEY_AFTER_TIME,
      rejectAfterTime: REJECT_AFTER_TIME,
      rejectAfterMessages: Number(REJECT_AFTER_MESSAGES),
      ...opts.limits,
    };
    this.jitterSource = opts.jitter ?? (() => randomInt(REKEY_TIMEOUT_JITTER_MAX));
    if (opts.privateKey) this.setPrivateKey(opts.privateKey);
  }

  // --- PeerHost ------------------------------------------------------------------------------

  now(): number {
    return this.clock.now();
  }
  wallNow(): number {
    return this.clock.wallNow();
  }
  jitter(): number {
    return this.jitterSource();
  }
  newIndex(peer: Peer, keypair: Keypair | undefined): number {
    for (;;) {
      const i = randomBytes(4).readUInt32LE(0);
      if (!this.indices.has(i)) {
        this.indices.set(i, { peer, keypair });
        return i;
      }
    }
  }
  setIndex(index: number, peer: Peer, keypair: Keypair | undefined): void {
    this.indices.set(index, { peer, keypair });
  }
  dropIndex(index: number): void {
    this.indices.delete(index);
  }
  sendUdp(data: Buffer, to: Endpoint): void {
    this.output.udp(data, to);
  }
  count(reason: string): void {
    this.counters.set(reason, (this.counters.get(reason) ?? 0) + 1);
  }
  timerArmed(at: number): void {
    this.onTimerArmed?.(at);
  }
  peerActive(peer: Peer): void {
    this.onPeerActive?.(peer);
  }

  // --- configuration -------------------------------------------------------------------------

  setPrivateKey(raw: Buffer | undefined): void {
    this.localKey = raw ? new PrivateKey(raw) : undefined;
    this.cookieChecker = this.localKey ? new CookieChecker(this.localKey.publicKey, this.now()) : undefined;
    // Sessions made with the old identity are void; a peer whose key is now ours is removed (as wireguard-go does).
    for (const peer of [...this.peers.values()]) {
      if (this.localKey && peer.publicKey.equals(this.localKey.publicKey)) {
        this.removePeer(peer.publicKey);
        continue;
      }
      peer.zeroKeys();
      peer.rekeySecrets();
    }
  }

  get publicKey(): Buffer | undefined {
    return this.localKey?.publicKey;
  }

  getPeer(publicKey: Buffer): Peer | undefined {
    return this.peers.get(publicKey.toString('base64'));
  }

  listPeers(): Peer[] {
    return [...this.peers.values()];
  }

  /** Adds a peer (or returns the existing one). Our own public key cannot be a peer. */
  addPeer(publicKey: Buffer, presharedKey?: Buffer): Peer | undefined {
    const existing = this.getPeer(publicKey);
    if (existing) return existing;
    if (this.localKey && publicKey.equals(this.localKey.publicKey)) return undefined;
    const peer = new Peer(this, Buffer.from(publicKey), presharedKey);
    this.peers.set(publicKey.toString('base64'), peer);
    return peer;
  }

  removePeer(publicKey: Buffer): boolean {
    const peer = this.getPeer(publicKey);
    if (!peer) return false;
    peer.zeroKeys();
    peer.timers.stopAll();
    this.allowedIps.removeByValue(peer);
    for (const [i, e] of this.indices) if (e.peer === peer) this.indices.delete(i);
    this.peers.delete(publicKey.toString('base64'));
    return true;
  }

  removeAllPeers(): void {
    for (const p of this.listPeers()) this.removePeer(p.publicKey);
  }

  // --- from the TUN --------------------------------------------------------------------------

  /** An IP packet read from the TUN: route it by destination and send it to its peer. */
  sendPacket(packet: Buffer): void {
    const dst = destinationOf(packet);
    if (!dst) {
      this.count('tun_malformed');
      return;
    }
    const peer = this.allowedIps.lookup(dst.family, packet, dst.offset);
    if (!peer) {
      this.count('tun_no_route');
      return;
    }
    peer.send(packet);
  }

  // --- from the network ----------------------------------------------------------------------

  /** A UDP datagram that arrived from `from`. Never throws: bad input is dropped and counted. */
  receive(datagram: Buffer, from: Endpoint): void {
    const type = messageType(datagram);
    switch (type) {
      case MSG_TRANSPORT:
        this.receiveTransport(datagram, from);
        break;
      case MSG_INITIATION:
      case MSG_RESPONSE:
        this.receiveHandshake(datagram, type, from);
        break;
      case MSG_COOKIE_REPLY:
        this.receiveCookieReply(datagram);
        break;
      default:
        this.count('rx_malformed');
    }
  }

  private receiveHandshake(msg: Buffer, type: number, from: Endpoint): void {
    const local = this.localKey;
    const checker = this.cookieChecker;
    if (!local || !checker) {
      this.count('rx_no_private_key');
      return;
    }
    if (!checker.checkMac1(msg, type)) {
      this.count('rx_bad_mac1');
      return;
    }
    const now = this.now();
    if (this.load.record(now)) {
      const source = sourceKey(from);
      if (!checker.checkMac2(msg, type, source, now)) {
        // receive() checked the type and size, so the sender index is there.
        this.output.udp(checker.createReply(msg, type, handshakeSender(msg)!, source, now), from);
        this.count('tx_cookie_reply');
        return;
      }
      if (!this.rateLimiter.allow(from.address, now)) {
        this.count('rx_handshake_rate_limited');
        return;
      }
    }
    if (type === MSG_INITIATION) this.receiveInitiation(msg, from, now);
    else this.receiveResponse(msg, from);
  }

  private receiveInitiation(msg: Buffer, from: Endpoint, now: number): void {
    let found: Peer | undefined;
    const result = consumeInitiation(this.localKey!, msg, (remoteStatic) => {
      found = this.getPeer(remoteStatic);
      return found?.secrets;
    });
    if (!result || !found) {
      this.count('rx_bad_initiation');
      return;
    }
    const peer = found;
    if (peer.lastTimestamp && compareTai64n(result.consumed.timestamp, peer.lastTimestamp) <= 0) {
      this.count('rx_replayed_initiation');
      return;
    }
    if (now - peer.lastInitiationReceivedAt < HANDSHAKE_INITIATION_RATE) {
      this.count('rx_initiation_flood');
      return;
    }
    peer.stats.rxBytes += msg.length;
    peer.timers.anyAuthenticatedPacketReceived();
    peer.timers.anyAuthenticatedPacketTraversal(now);
    peer.respond(result.consumed, from);
  }

  private receiveResponse(msg: Buffer, from: Endpoint): void {
    const m = decodeResponse(msg);
    const entry = m && this.indices.get(m.receiver);
    const peer = entry?.peer;
    const state = peer?.initiator;
    if (!peer || entry.keypair || !state || !peer.secrets) {
      this.count('rx_unknown_index');
      return;
    }
    const result = consumeResponse(this.localKey!, peer.secrets, state, msg);
    if (!result) {
      this.count('rx_bad_response');
      return;
    }
    peer.stats.rxBytes += msg.length;
    peer.completeAsInitiator(result.keys, result.remoteIndex, from);
  }

  private receiveCookieReply(msg: Buffer): void {
    const r = decodeCookieReply(msg);
    const entry = r && this.indices.get(r.receiver);
    if (!entry || !entry.peer.cookies.consumeReply(msg, this.now())) {
      this.count('rx_bad_cookie_reply');
      return;
    }
    this.count('rx_cookie_reply');
  }

  private receiveTransport(msg: Buffer, from: Endpoint): void {
    const h = decodeTransportHeader(msg);
    const entry = h && this.indices.get(h.receiver);
    const kp = entry?.keypair;
    if (!h || !entry || !kp) {
      this.count('rx_unknown_index');
      return;
    }
    const now = this.now();
    if (now - kp.createdAt >= this.limits.rejectAfterTime) {
      this.count('rx_expired_session');
      return;
    }
    const counter = h.counter;
    if (counter >= this.limits.rejectAfterMessages) {
      this.count('rx_counter_exhausted');
      return;
    }
    if (!kp.replay.check(counter)) {
      this.count('rx_replay');
      return;
    }
    const plain = kp.open(msg, counter);
    if (!plain) {
      this.count('rx_bad_tag');
      return;
    }
    if (!kp.replay.accept(counter)) {
      this.count('rx_replay');
      return;
    }
    const peer = entry.peer;
    peer.endpoint = from; // roaming: follow the source of the latest authenticated packet
    peer.stats.rxBytes += msg.length;
    peer.receivedWith(kp);
    peer.keepKeyFreshReceiving(kp);
    peer.timers.anyAuthenticatedPacketReceived();
    peer.timers.anyAuthenticatedPacketTraversal(now);
    if (plain.length === 0) return; // keepalive

    const src = sourceOf(plain);
    const length = src ? declaredLength(plain) : undefined;
    if (!src || length === undefined || length > plain.length) {
      this.count('rx_bad_inner_packet');
      return;
    }
    if (this.allowedIps.lookup(src.family, plain, src.offset) !== peer) {
      this.count('rx_disallowed_source');
      return;
    }
    peer.timers.dataReceived(now);
    peer.noteData(now);
    this.output.tun(plain.subarray(0, length));
  }

  // --- timers --------------------------------------------------------------------------------

  /** Runs every peer's expired timers: at `nextDeadline()`, or on any schedule (ticking early is harmless). */
  tick(): void {
    const now = this.now();
    for (const peer of this.peers.values()) peer.tick(now);
    if (now - this.lastSweep > RATE_LIMITER_SWEEP_MS) {
      this.lastSweep = now;
      this.rateLimiter.sweep(now);
    }
  }

  /**
   * When `tick()` next has something to do (engine clock), undefined when nothing is pending: the
   * earliest peer timer, and the rate limiter's sweep while it holds buckets. Anything that sets
   * an earlier deadline later is reported through `onTimerArmed`.
   */
  nextDeadline(): number | undefined {
    let min = this.rateLimiter.size > 0 ? this.lastSweep + RATE_LIMITER_SWEEP_MS + 1 : undefined;
    for (const peer of this.peers.values()) {
      const d = peer.timers.nextDeadline();
      if (d !== undefined && (min === undefined || d < min)) min = d;
    }
    return min;
  }

  isUnderLoad(): boolean {
    return this.load.isUnderLoad(this.now());
  }
}

/** Bytes a cookie is bound to: the sender's IP and port. */
function sourceKey(e: Endpoint): Buffer {
  return Buffer.from(`${e.address}|${e.port}`);
}
