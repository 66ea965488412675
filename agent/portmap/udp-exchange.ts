// One request/answer exchange over UDP with retransmission, as PCP, NAT-PMP and SSDP need it:
// the first datagram that comes from the expected sender and that the decoder accepts ends it;
// everything else is counted as rejected and ignored, so a hostile LAN device can neither end
// the exchange early nor crash it.
import type { Clock, Decoded, RejectReason, Remote, Timer, UdpEndpoint } from './types.js';
import { PortmapError } from './types.js';

/** Retransmission times after the first send (RFC 6887 starts at 3 s; a LAN answers in ms). */
export const RETRANSMIT_MS = [250, 500, 1000] as const;
export const EXCHANGE_TIMEOUT_MS = 2000;

export interface ExchangeOptions<T> {
  readonly socket: UdpEndpoint;
  readonly clock: Clock;
  readonly request: Uint8Array;
  readonly to: Remote;
  /** The only address answers may come from (the gateway). Default: `to.address`. */
  readonly from?: string;
  /** Accept answers from any source port of that address (SSDP devices answer from any port). */
  readonly anySourcePort?: boolean;
  readonly decode: (data: Uint8Array) => Decoded<T>;
  readonly onReject: (reason: RejectReason) => void;
  readonly timeoutMs?: number;
  readonly retransmitMs?: readonly number[];
  readonly signal?: AbortSignal;
}

/** Resolves the first accepted answer; rejects with PORTMAP_TIMEOUT or PORTMAP_CLOSED. */
export function exchange<T>(opts: ExchangeOptions<T>): Promise<T> {
  const from = opts.from ?? opts.to.address;
  return new Promise<T>((resolve, rejectPromise) => {
    const timers: Timer[] = [];
    let done = false;
    const finish = (err: Error | undefined, value?: T): void => {
      if (done) return;
      done = true;
      for (const t of timers) t.cancel();
      opts.signal?.removeEventListener('abort', onAbort);
      opts.socket.onMessage(() => undefined);
      if (err) rejectPromise(err);
      else resolve(value as T);
    };
    const onAbort = (): void => finish(new PortmapError('PORTMAP_CLOSED', 'port mapper closed'));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    opts.socket.onMessage((data: Uint8Array, sender: Remote) => {
      if (done) return;
      if (sender.address !== from || (!opts.anySourcePort && sender.port !== opts.to.port)) return opts.onReject('wrong-source');
      const d = opts.decode(data);
      if (d.ok) finish(undefined, d.value);
      else opts.onReject(d.reason);
    });
    const send = (): void => {
      if (done) return;
      try {
        opts.socket.send(opts.request, opts.to.port, opts.to.address);
      } catch (err) {
        finish(new PortmapError('PORTMAP_TRANSPORT', `send to ${opts.to.address}:${opts.to.port}: ${(err as Error).message}`));
      }
    };
    send();
    for (const ms of opts.retransmitMs ?? RETRANSMIT_MS) timers.push(opts.clock.setTimeout(send, ms));
    const timeoutMs = opts.timeoutMs ?? EXCHANGE_TIMEOUT_MS;
    timers.push(opts.clock.setTimeout(() => finish(new PortmapError('PORTMAP_TIMEOUT', `no answer from ${from} in ${timeoutMs} ms`)), timeoutMs));
  });
}
