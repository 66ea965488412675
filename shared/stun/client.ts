// STUN over a caller-owned UDP socket: one Binding transaction with retransmission. The socket
// is never closed or rebound here, so the agent can pass the socket its WireGuard traffic uses.
import type { Socket } from 'node:dgram';
import { parseBindingResponse, stunBindingRequest, type BindingRequestOptions, type BindingResponse } from './binding.js';
import { isStunMessage } from './message.js';
import type { HostPort } from '../net/host-port.js';

export interface StunQueryOptions extends BindingRequestOptions {
  /** First retransmission timeout; doubles on every retry (default 250 ms). */
  rtoMs?: number;
  /** Number of transmissions before giving up (default 3: about 1.75 s in all). */
  attempts?: number;
}

export interface StunQueryResult {
  response: BindingResponse;
  /** Where the response came from: differs from the server address after CHANGE-REQUEST. */
  from: HostPort;
}

/** Runs one Binding transaction; resolves undefined when no response arrives in time. */
export function stunQuery(
  socket: Socket,
  server: HostPort,
  options: StunQueryOptions = {},
): Promise<StunQueryResult | undefined> {
  const { transactionId, packet } = stunBindingRequest(options);
  const attempts = options.attempts ?? 3;
  let rto = options.rtoMs ?? 250;
  return new Promise((resolve) => {
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: StunQueryResult | undefined) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(result);
    };
    const onMessage = (msg: Buffer, rinfo: { address: string; port: number }) => {
      if (!isStunMessage(msg)) return;
      const response = parseBindingResponse(msg, transactionId);
      if (response) finish({ response, from: { host: rinfo.address, port: rinfo.port } });
    };
    const transmit = () => {
      if (sent === attempts) return finish(undefined);
      sent++;
      // A send error (e.g. no route) is the same as a lost datagram for the caller.
      socket.send(packet, server.port, server.host, () => undefined);
      timer = setTimeout(transmit, rto);
      rto *= 2;
    };
    socket.on('message', onMessage);
    transmit();
  });
}
