// STUN Binding transactions sent from the WireGuard socket itself, so the mapping learned is the
// one WireGuard traffic uses. The socket belongs to the tunnel: requests go out through `send`,
// and the agent hands every STUN datagram it demultiplexes to `handle`.
import { makeEndpoint, type Endpoint } from '../../shared/net/address.js';
import type { StunAddress } from '../../shared/stun/attributes.js';
import { parseBindingResponse, stunBindingRequest, type BindingResponse } from '../../shared/stun/binding.js';

export interface StunAnswer {
  response: BindingResponse;
  from: Endpoint;
}

export interface StunQueryTiming {
  /** First retransmission timeout, doubling each time (default 250 ms). */
  rtoMs?: number;
  /** Transmissions before giving up (default 3). */
  attempts?: number;
}

interface Pending {
  server: Endpoint;
  /** An answer may come from another port only after CHANGE-REQUEST. */
  anyPort: boolean;
  finish: (a: StunAnswer | undefined) => void;
}

export class StunTransactions {
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(private readonly send: (data: Buffer, to: Endpoint) => void) {}

  /** One Binding transaction with retransmission; undefined when nothing answers in time. */
  query(server: Endpoint, o: StunQueryTiming & { changePort?: boolean; discovery?: boolean } = {}): Promise<StunAnswer | undefined> {
    const { transactionId, packet } = stunBindingRequest({ changePort: !!o.changePort, discovery: !!o.discovery });
    const key = Buffer.from(transactionId).toString('hex');
    const attempts = o.attempts ?? 3;
    let rto = o.rtoMs ?? 250;
    return new Promise((resolve) => {
      if (this.closed) return resolve(undefined);
      let sent = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (a: StunAnswer | undefined) => {
        clearTimeout(timer);
        this.pending.delete(key);
        resolve(a);
      };
      const transmit = () => {
        if (sent === attempts || this.closed) return finish(undefined);
        sent++;
        this.send(packet, server);
        timer = setTimeout(transmit, rto);
        rto *= 2;
      };
      this.pending.set(key, { server, anyPort: !!o.changePort, finish });
      transmit();
    });
  }

  /** A STUN datagram from the socket; true if it answered one of our transactions. */
  handle(datagram: Buffer, from: Endpoint): boolean {
    if (datagram.length < 20) return false;
    const key = datagram.subarray(8, 20).toString('hex');
    const p = this.pending.get(key);
    if (!p) return false;
    // Only the server we asked may answer (a forged answer from elsewhere could poison our candidates).
    if (from.address !== p.server.address || (!p.anyPort && from.port !== p.server.port)) return false;
    const response = parseBindingResponse(datagram);
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
