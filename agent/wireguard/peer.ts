// One configured peer: its handshake, sessions, staged packets, timers and statistics.
// Pure: every action goes out through the device (sendUdp / writeTun), time comes from its clock.
import type { Endpoint } from '../../shared/net/address.js';
import { MSG_INITIATION, MSG_RESPONSE } from '../../shared/wire/wireguard.js';
import { KEEPALIVE_TIMEOUT, MAX_STAGED_PACKETS, MAX_TIMER_HANDSHAKES, REJECT_AFTER_TIME, REKEY_TIMEOUT } from './constants.js';
import { CookieGenerator } from './cookie.js';
import type { PrivateKey } from './crypto.js';
import { Keypair, paddedLength } from './keypair.js';
import {
  createInitiation,
  createResponse,
  peerSecrets,
  type ConsumedInitiation,
  type InitiatorState,
  type PeerSecrets,
  type SessionKeys,
} from './noise.js';
import { tai64n } from './tai64n.js';
import { PeerTimers, type TimerName } from './timers.js';

/** Limits the engine applies; tests and benchmarks may shorten them. */
export interface ProtocolLimits {
  rekeyAfterMessages: number;
  rekeyAfterTime: number;
  rejectAfterTime: number;
  /** Counter values a session may use; the real 2^64 - 2^13 - 1 is never reached, tests shorten it. */
  rejectAfterMessages: number;
}

/** What a peer needs from its device. */
export interface PeerHost {
  readonly localKey: PrivateKey | undefined;
  readonly limits: ProtocolLimits;
  readonly mtu: number;
  now(): number;
  wallNow(): number;
  jitter(): number;
  newIndex(peer: Peer, keypair: Keypair | undefined): number;
  setIndex(index: number, peer: Peer, keypair: Keypair | undefined): void;
  dropIndex(index: number): void;
  sendUdp(data: Buffer, to: Endpoint): void;
  count(reason: string): void;
  /** A peer timer was set to fire at `at` (engine clock). */
  timerArmed?(at: number): void;
  /** Data moved to or from `peer` after ACTIVITY_NOTICE_MS without any. */
  peerActive?(peer: Peer): void;
}

/** Data after this long without any is news to whoever watches for activity (at most one call per peer per this long). */
export const ACTIVITY_NOTICE_MS = 1_000;

export interface PeerStats {
  rxBytes: number;
  txBytes: number;
  /** Unix ms of the last completed handshake, 0 if none. */
  lastHandshakeWall: number;
}

export class Peer {
  secrets: PeerSecrets | undefined;
  endpoint: Endpoint | undefined;
  readonly cookies: CookieGenerator;
  readonly timers: PeerTimers;
  readonly stats: PeerStats = { rxBytes: 0, txBytes: 0, lastHandshakeWall: 0 };
  /** When data (not keepalives, not handshakes) last went to or came from the peer (engine clock). */
  lastDataAt = -Infinity;

  previous: Keypair | undefined;
  current: Keypair | undefined;
  next: Keypair | undefined;

  /** Our initiation in flight (kept apart from a consumed initiation so crossing handshakes both finish). */
  initiator: InitiatorState | undefined;
  private lastInitiationSentAt = -Infinity;
  /** Newest TAI64N accepted from this peer: older or equal ones are replays. */
  lastTimestamp: Buffer | undefined;
  lastInitiationReceivedAt = -Infinity;
  private sentLastMinuteHandshake = false;
  private staged: Uint8Array[] = [];

  constructor(
    private readonly host: PeerHost,
    readonly publicKey: Buffer,
    private presharedKey: Buffer | undefined,
  ) {
    this.cookies = new CookieGenerator(publicKey);
    this.timers = new PeerTimers(() => host.jitter(), (at) => host.timerArmed?.(at));
    this.rekeySecrets();
  }

  get preshared(): Buffer | undefined {
    return this.presharedKey;
  }

  /** Recomputes the handshake secrets after the device key or the preshared key changed. */
  rekeySecrets(presharedKey: Buffer | undefined = this.presharedKey): void {
    this.presharedKey = presharedKey;
    const local = this.host.localKey;
    this.secrets = local ? peerSecrets(local, this.publicKey, presharedKey) : undefined;
  }

  setPersistentKeepalive(seconds: number, deviceUp: boolean): void {
    const was = this.timers.persistentKeepaliveInterval;
    this.timers.persistentKeepaliveInterval = seconds * 1000;
    if (seconds === 0) this.timers.stop('persistentKeepalive');
    // Turning it on sends one at once, so a peer behind NAT is reachable without waiting.
    if (was === 0 && seconds > 0 && deviceUp) this.sendKeepalive();
  }

  // --- sending ------------------------------------------------------------------------------

  /** Queues an IP packet for this peer and sends what can be sent now. */
  send(packet: Uint8Array): void {
    if (this.staged.length >= MAX_STAGED_PACKETS) {
      this.staged.shift();
      this.host.count('staged_overflow');
    }
    this.staged.push(packet);
    this.sendStaged();
  }

  sendKeepalive(): void {
    if (this.staged.length === 0) this.staged.push(EMPTY);
    this.sendStaged();
  }

  private usable(kp: Keypair | undefined, now: number): kp is Keypair {
    const { rejectAfterTime, rejectAfterMessages } = this.host.limits;
    return kp !== undefined && now - kp.createdAt < rejectAfterTime && kp.sendCounter < rejectAfterMessages;
  }

  sendStaged(): void {
    const now = this.host.now();
    const kp = this.current;
    if (!this.usable(kp, now) || !this.endpoint) {
      this.sendInitiation(false);
      return;
    }
    let packets = this.staged;
    this.staged = [];
    const room = this.host.limits.rejectAfterMessages - kp.sendCounter;
    if (packets.length > room) {
      // The session gets used up by this batch: the rest waits for the next one.
      this.staged = packets.slice(room);
      packets = packets.slice(0, room);
    }
    let sentData = false;
    const mtu = this.host.mtu;
    // The whole batch is sealed in one go (one call into the native AEAD), then sent in order.
    const sealed = kp.sealAll(packets, (length) => paddedLength(length, mtu));
    for (let i = 0; i < sealed.length; i++) {
      this.transmit(sealed[i]!);
      if (packets[i]!.length > 0) sentData = true;
    }
    if (this.staged.length > 0) this.sendInitiation(false);
    this.timers.anyAuthenticatedPacketTraversal(now);
    this.timers.anyAuthenticatedPacketSent();
    if (sentData) {
      this.timers.dataSent(now);
      this.noteData(now);
    }
    this.keepKeyFreshSending(kp, now);
  }

  /** Data went out or came in: remembered, and news when the peer was quiet. */
  noteData(now: number): void {
    const quiet = now - this.lastDataAt >= ACTIVITY_NOTICE_MS;
    this.lastDataAt = now;
    if (quiet) this.host.peerActive?.(this);
  }

  private transmit(msg: Buffer): void {
    if (!this.endpoint) return;
    this.stats.txBytes += msg.length;
    this.host.sendUdp(msg, this.endpoint);
  }

  private keepKeyFreshSending(kp: Keypair, now: number): void {
    const { rekeyAfterMessages, rekeyAfterTime } = this.host.limits;
    if (kp.sendCounter > rekeyAfterMessages || (kp.isInitiator && now - kp.createdAt > rekeyAfterTime)) {
      this.sendInitiation(false);
    }
  }

  /** Called for every packet received on `kp`: the initiator renews a session nearing expiry. */
  keepKeyFreshReceiving(kp: Keypair): void {
    if (this.sentLastMinuteHandshake || kp !== this.current || !kp.isInitiator) return;
    const now = this.host.now();
    if (now - kp.createdAt > this.host.limits.rejectAfterTime - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
      this.sentLastMinuteHandshake = true;
      this.sendInitiation(false);
    }
  }

  /** Sends a handshake initiation, at most one per REKEY_TIMEOUT. */
  sendInitiation(isRetry: boolean): void {
    if (!isRetry) this.timers.handshakeAttempts = 0;
    const now = this.host.now();
    const local = this.host.localKey;
    if (!this.endpoint || !local || !this.secrets) return;
    if (now - this.lastInitiationSentAt < REKEY_TIMEOUT) {
      // Too soon after the last one: try again as soon as it is allowed, rather than waiting for
      // the next outgoing packet (packets may be staged behind a used-up session).
      if (!this.timers.isPending('retransmitHandshake')) this.timers.arm('retransmitHandshake', this.lastInitiationSentAt + REKEY_TIMEOUT);
      return;
    }
    this.lastInitiationSentAt = now;
    if (this.initiator) this.host.dropIndex(this.initiator.localIndex);
    const index = this.host.newIndex(this, undefined);
    const made = createInitiation(local, this.secrets, index, tai64n(this.host.wallNow()));
    if (!made) {
      this.host.dropIndex(index);
      this.host.count('handshake_bad_key');
      return;
    }
    this.initiator = made.state;
    this.cookies.addMacs(made.message, MSG_INITIATION, now);
    this.transmit(made.message);
    this.timers.anyAuthenticatedPacketTraversal(now);
    this.timers.anyAuthenticatedPacketSent();
    this.timers.handshakeInitiated(now);
  }

  // --- handshake results ---------------------------------------------------------------------

  /** We accepted the peer's initiation: answer it and hold the new session as `next`. */
  respond(init: ConsumedInitiation, from: Endpoint): void {
    const now = this.host.now();
    this.lastTimestamp = init.timestamp;
    this.lastInitiationReceivedAt = now;
    this.endpoint = from;
    const index = this.host.newIndex(this, undefined);
    const made = this.secrets ? createResponse(this.secrets, init, index) : undefined;
    if (!made) {
      this.host.dropIndex(index);
      this.host.count('handshake_bad_key');
      return;
    }
    this.beginSession(made.keys, false, index, init.remoteIndex, now);
    this.cookies.addMacs(made.message, MSG_RESPONSE, now);
    this.transmit(made.message);
    this.timers.anyAuthenticatedPacketTraversal(now);
    this.timers.anyAuthenticatedPacketSent();
  }

  /** Our initiation was answered: the session is current at once; confirm it with data or a keepalive. */
  completeAsInitiator(keys: SessionKeys, remoteIndex: number, from: Endpoint): void {
    const now = this.host.now();
    const state = this.initiator!;
    this.initiator = undefined;
    this.endpoint = from;
    this.beginSession(keys, true, state.localIndex, remoteIndex, now);
    this.handshakeComplete();
    this.timers.anyAuthenticatedPacketTraversal(now);
    this.timers.anyAuthenticatedPacketReceived();
    this.sendKeepalive();
  }

  private beginSession(keys: SessionKeys, isInitiator: boolean, localIndex: number, remoteIndex: number, now: number): void {
    const kp = new Keypair(keys, isInitiator, localIndex, remoteIndex, now);
    this.host.setIndex(localIndex, this, kp);
    if (isInitiator) {
      if (this.next) {
        // An unconfirmed responder session is still good for receiving: keep it as previous.
        this.retire(this.previous);
        this.retire(this.current);
        this.previous = this.next;
        this.next = undefined;
      } else {
        this.retire(this.previous);
        this.previous = this.current;
      }
      this.current = kp;
    } else {
      this.retire(this.next);
      this.next = kp;
      this.retire(this.previous);
      this.previous = undefined;
    }
    this.timers.sessionDerived(now);
  }

  /** A packet arrived on `kp`: a confirmed `next` becomes current (the responder's rule). */
  receivedWith(kp: Keypair): void {
    if (kp !== this.next) return;
    this.retire(this.previous);
    this.previous = this.current;
    this.current = kp;
    this.next = undefined;
    this.handshakeComplete();
    this.sendStaged();
  }

  private handshakeComplete(): void {
    this.timers.handshakeComplete();
    this.sentLastMinuteHandshake = false;
    this.stats.lastHandshakeWall = this.host.wallNow();
  }

  private retire(kp: Keypair | undefined): void {
    if (!kp) return;
    this.host.dropIndex(kp.localIndex);
    kp.wipe();
  }

  /** Forgets every session and handshake (zeroing timer, peer removal, key change). */
  zeroKeys(): void {
    this.retire(this.previous);
    this.retire(this.current);
    this.retire(this.next);
    this.previous = this.current = this.next = undefined;
    if (this.initiator) this.host.dropIndex(this.initiator.localIndex);
    this.initiator = undefined;
  }

  stagedCount(): number {
    return this.staged.length;
  }

  // --- timers ---------------------------------------------------------------------------------

  tick(now: number): void {
    for (const t of this.timers.takeExpired(now)) this.onTimer(t, now);
  }

  private onTimer(t: TimerName, now: number): void {
    switch (t) {
      case 'retransmitHandshake':
        if (this.timers.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
          // Give up: drop what waited for this handshake; keys go after 3 × reject-after-time.
          this.timers.stop('sendKeepalive');
          this.staged = [];
          if (!this.timers.isPending('zeroKeyMaterial')) this.timers.arm('zeroKeyMaterial', now + 3 * REJECT_AFTER_TIME);
        } else {
          this.timers.handshakeAttempts++;
          this.sendInitiation(true);
        }
        break;
      case 'sendKeepalive':
        this.sendKeepalive();
        if (this.timers.needAnotherKeepalive) {
          this.timers.needAnotherKeepalive = false;
          this.timers.arm('sendKeepalive', now + KEEPALIVE_TIMEOUT);
        }
        break;
      case 'newHandshake':
        this.sendInitiation(false);
        break;
      case 'zeroKeyMaterial':
        this.zeroKeys();
        break;
      case 'persistentKeepalive':
        if (this.timers.persistentKeepaliveInterval > 0) this.sendKeepalive();
        break;
    }
  }
}

const EMPTY = new Uint8Array(0);
