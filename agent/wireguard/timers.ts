// The per-peer timer rules of WireGuard (whitepaper §6.2–6.5, as wireguard-go arms them).
// Timers are plain deadlines on the engine's clock: events arm and disarm them, and
// `takeExpired(now)` hands the fired ones to the peer, which performs the actions. No real timers
// live here, so every rule can be driven step by step in tests.
import { KEEPALIVE_TIMEOUT, REJECT_AFTER_TIME, REKEY_TIMEOUT } from './constants.js';

export type TimerName = 'retransmitHandshake' | 'sendKeepalive' | 'newHandshake' | 'zeroKeyMaterial' | 'persistentKeepalive';
export const TIMER_NAMES: readonly TimerName[] = ['retransmitHandshake', 'sendKeepalive', 'newHandshake', 'zeroKeyMaterial', 'persistentKeepalive'];

export class PeerTimers {
  private readonly deadline: Record<TimerName, number | undefined> = {
    retransmitHandshake: undefined,
    sendKeepalive: undefined,
    newHandshake: undefined,
    zeroKeyMaterial: undefined,
    persistentKeepalive: undefined,
  };
  /** Initiations sent since the last completed handshake (retries included). */
  handshakeAttempts = 0;
  /** Data arrived while a keepalive was already pending: send one more after it. */
  needAnotherKeepalive = false;
  /** In ms; 0 disables persistent keepalive. */
  persistentKeepaliveInterval = 0;

  /**
   * `jitter()` returns 0–333 ms, added to handshake timeouts so peers do not retry in lockstep.
   * `armed(at)` hears of every deadline set, so a driver sleeping until the earliest one can wake
   * sooner (stopped timers need no word: waking for nothing costs one check).
   */
  constructor(
    private readonly jitter: () => number,
    private readonly armed: (at: number) => void = () => undefined,
  ) {}

  isPending(name: TimerName): boolean {
    return this.deadline[name] !== undefined;
  }
  deadlineOf(name: TimerName): number | undefined {
    return this.deadline[name];
  }
  arm(name: TimerName, at: number): void {
    this.deadline[name] = at;
    this.armed(at);
  }
  stop(name: TimerName): void {
    this.deadline[name] = undefined;
  }
  stopAll(): void {
    for (const n of TIMER_NAMES) this.deadline[n] = undefined;
  }

  // --- events -------------------------------------------------------------------------------

  /** We sent data (not a keepalive): expect something back, or re-handshake. */
  dataSent(now: number): void {
    if (!this.isPending('newHandshake')) this.arm('newHandshake', now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + this.jitter());
  }

  /** We received data: acknowledge with a keepalive unless we send something first. */
  dataReceived(now: number): void {
    if (!this.isPending('sendKeepalive')) this.arm('sendKeepalive', now + KEEPALIVE_TIMEOUT);
    else this.needAnotherKeepalive = true;
  }

  /** Any authenticated packet sent carries the acknowledgement a keepalive would have. */
  anyAuthenticatedPacketSent(): void {
    this.stop('sendKeepalive');
  }

  /** Any authenticated packet received shows the session is alive. */
  anyAuthenticatedPacketReceived(): void {
    this.stop('newHandshake');
  }

  /** Sent or received: restarts the persistent-keepalive countdown. */
  anyAuthenticatedPacketTraversal(now: number): void {
    if (this.persistentKeepaliveInterval > 0) this.arm('persistentKeepalive', now + this.persistentKeepaliveInterval);
  }

  handshakeInitiated(now: number): void {
    this.arm('retransmitHandshake', now + REKEY_TIMEOUT + this.jitter());
  }

  handshakeComplete(): void {
    this.stop('retransmitHandshake');
    this.handshakeAttempts = 0;
  }

  /** New session keys: they (and any older ones) are wiped if no newer session follows. */
  sessionDerived(now: number): void {
    this.arm('zeroKeyMaterial', now + 3 * REJECT_AFTER_TIME);
  }

  /** Removes and returns the timers whose deadline has passed, in a stable order. */
  takeExpired(now: number): TimerName[] {
    const fired: TimerName[] = [];
    for (const n of TIMER_NAMES) {
      const d = this.deadline[n];
      if (d !== undefined && d <= now) {
        this.deadline[n] = undefined;
        fired.push(n);
      }
    }
    return fired;
  }

  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const n of TIMER_NAMES) {
      const d = this.deadline[n];
      if (d !== undefined && (min === undefined || d < min)) min = d;
    }
    return min;
  }
}
