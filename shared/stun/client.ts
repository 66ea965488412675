// The one STUN Binding client: transactions with retransmission over a caller-owned socket, so
// the join agent can use the socket its WireGuard traffic uses (the mapping learned is then the
// one WireGuard gets). Requests leave through `send`; the caller hands every STUN datagram it
// receives to `handle`, which takes an answer only from the server asked (any port of it after
// CHANGE-REQUEST) and only for a transaction of ours: a forged answer could poison candidates.
import type { Socket } from 'node:dgram';
import { makeEndpoint, type Endpoint } from '../net/address.js';
import type { StunAddress } from './attributes.js';
import { parseBindingResponse, stunBindingRequest, type BindingRequestOptions, type BindingResponse } from './binding.js';
import { isStunMessage } from './message.js';
import type { HostPort } from '../net/host-port.js';

export interface StunQueryOptions extends BindingRequestOptions {
  /** First retransmission timeout; doubles on every retry (default 250 ms). */
  rtoMs?: number;
  /** Number of transmissions before giving up (default 3: about 1.75 s in all). */
  attempts?: number;
}

export interface StunAnswer {
  response: BindingResponse;
  /** Where the response came from: differs from the server address after CHANGE-REQUEST. */
  from: Endpoint;
}

/** Timers, injectable so the join agent's fake clock drives retransmissions in tests. */
export interface StunTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: StunTimers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };

interface Pending {
  server: Endpoint;
  transactionId: Uint8Array;
  /** An answer may come from another port only after CHANGE-REQUEST. */
  anyPort: boolean;
  finish: (a: StunAnswer | undefined) => void;
}

export class StunClient {
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(
    private readonly send: (data: Buffer, to: Endpoint) => void,
    private readonly timers: StunTimers = realTimers,
  ) {}

  /** One Binding transaction with retransmission; undefined when nothing answers in time. */
  query(server: Endpoint, o: StunQueryOptions = {}): Promise<StunAnswer | undefined> {
    const { transactionId, packet } = stunBindingRequest(o);
    const key = Buffer.from(transactionId).toString('hex');
    const attempts = o.attempts ?? 3;
    let rto = o.rtoMs ?? 250;
    return new Promise((resolve) => {
      if (this.closed) return resolve(undefined);
      let sent = 0;
      let timer: unknown;
      const finish = (a: StunAnswer | undefined) => {
        if (timer !== undefined) this.timers.clearTimeout(timer);
        this.pending.delete(key);
        resolve(a);
      };
      const transmit = () => {
        if (sent === attempts || this.closed) return finish(undefined);
        sent++;
        this.send(packet, server);
        timer = this.timers.setTimeout(transmit, rto);
        rto *= 2;
      };
      this.pending.set(key, { server, transactionId, anyPort: !!o.changePort, finish });
      transmit();
    });
  }

  /** A STUN datagram; true if it answered one of our transactions. Never throws. */
  handle(datagram: Buffer, from: Endpoint): boolean {
    if (datagram.length < 20) return false;
    const p = this.pending.get(datagram.subarray(8, 20).toString('hex'));
    if (!p) return false;
    if (from.address !== p.server.address || (!p.anyPort && from.port !== p.server.port)) return false;
    const response = parseBindingResponse(datagram, p.transactionId);
    if (!response) return false;
    p.finish({ response, from });
    return true;
  }

  close(): void {
    this.closed = true;
    for (const p of [...this.pending.values()]) p.finish(undefined);
  }
}

export function endpointOfStun(a: StunAddress): Endpoint {
  return makeEndpoint(a.address, a.port);
}

/** One Binding transaction over a node:dgram socket (netcheck, tests); the socket stays open. */
export async function stunQuery(socket: Socket, server: HostPort, options: StunQueryOptions = {}): Promise<StunAnswer | undefined> {
  const client = new StunClient((data, to) => {
    // A send error (e.g. no route) is the same as a lost datagram for the caller.
    socket.send(data, to.port, to.address, () => undefined);
  });
  const onMessage = (msg: Buffer, rinfo: { address: string; port: number }) => {
    if (isStunMessage(msg)) client.handle(msg, makeEndpoint(rinfo.address, rinfo.port));
  };
  socket.on('message', onMessage);
  try {
    return await client.query(makeEndpoint(server.host, server.port), options);
  } finally {
    socket.off('message', onMessage);
  }
}
