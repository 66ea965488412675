// STUN over a caller-owned UDP socket: one Binding transaction with retransmission, and the
// RFC 5780 style behaviour discovery built from it. The socket is never closed or rebound here,
// so the agent can pass the socket its WireGuard traffic uses.
import type { Socket } from 'node:dgram';
import type { StunAddress } from './attributes.js';
import { parseBindingResponse, stunBindingRequest, type BindingRequestOptions, type BindingResponse } from './binding.js';
import { isStunMessage } from './message.js';

export interface StunEndpoint {
  host: string;
  port: number;
}

export interface StunQueryOptions extends BindingRequestOptions {
  /** First retransmission timeout; doubles on every retry (default 250 ms). */
  rtoMs?: number;
  /** Number of transmissions before giving up (default 3: about 1.75 s in all). */
  attempts?: number;
}

export interface StunQueryResult {
  response: BindingResponse;
  /** Where the response came from: differs from the server address after CHANGE-REQUEST. */
  from: StunEndpoint;
}

/** Runs one Binding transaction; resolves undefined when no response arrives in time. */
export function stunQuery(
  socket: Socket,
  server: StunEndpoint,
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

export type MappingBehaviour = 'endpoint-independent' | 'endpoint-dependent' | 'unknown';
/** Only the port half of RFC 5780 filtering can be tested against a one-IP server. */
export type FilteringBehaviour = 'port-independent' | 'port-dependent' | 'unknown';

export interface NatBehaviour {
  /** Mapping toward the server's primary address; undefined when the server did not answer. */
  mapped?: StunAddress;
  /** Mapping toward the server's OTHER-ADDRESS. */
  mappedAlt?: StunAddress;
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
}

function sameAddress(a: StunAddress, b: StunAddress): boolean {
  return a.address === b.address && a.port === b.port;
}

/**
 * Tells endpoint-independent from endpoint-dependent mapping by comparing the mapped address
 * toward the primary and the alternate server port, and probes port-dependent filtering with a
 * CHANGE-REQUEST sent before anything has gone to the alternate port (order matters: once we
 * have sent there, our NAT would let the answer in whatever its filtering).
 */
export async function discoverNatBehaviour(
  socket: Socket,
  server: StunEndpoint,
  options: Pick<StunQueryOptions, 'rtoMs' | 'attempts'> = {},
): Promise<NatBehaviour> {
  const first = await stunQuery(socket, server, options);
  if (!first || first.response.kind !== 'success') return { mapping: 'unknown', filtering: 'unknown' };
  const mapped = first.response.mapped;
  const other = first.response.otherAddress;
  if (!other) return { mapped, mapping: 'unknown', filtering: 'unknown' };

  const changed = await stunQuery(socket, server, { ...options, changePort: true });
  let filtering: FilteringBehaviour = 'port-dependent';
  if (changed) {
    filtering =
      changed.response.kind === 'success' && changed.from.port !== server.port ? 'port-independent' : 'unknown';
  }

  const alt = await stunQuery(socket, { host: other.address, port: other.port }, options);
  if (!alt || alt.response.kind !== 'success') return { mapped, mapping: 'unknown', filtering };
  const mappedAlt = alt.response.mapped;
  const mapping = sameAddress(mapped, mappedAlt) ? 'endpoint-independent' : 'endpoint-dependent';
  return { mapped, mappedAlt, mapping, filtering };
}
