// RFC 5780 style NAT behaviour discovery against a wgp2p server with an alternate STUN port.
import dgram, { type Socket } from 'node:dgram';
import type { StunAddress } from './attributes.js';
import { stunQuery, type StunEndpoint, type StunQueryOptions } from './client.js';

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

type Timing = Pick<StunQueryOptions, 'rtoMs' | 'attempts'>;

function sameAddress(a: StunAddress, b: StunAddress): boolean {
  return a.address === b.address && a.port === b.port;
}

/**
 * Asks the primary port to answer from the alternate one, from a fresh socket that has never
 * sent to the alternate port: the answer gets through only if the NAT does not filter by port.
 * A fresh socket, because a filtered answer is not harmless: a conntrack NAT records it as an
 * inbound flow on the mapped port, and a later packet from the caller's socket to the alternate
 * port would then be given another public port, making a plain MASQUERADE look
 * endpoint-dependent.
 */
export async function probeFiltering(family: string, server: StunEndpoint, timing: Timing = {}): Promise<FilteringBehaviour> {
  const probe = dgram.createSocket(family === 'IPv6' ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(0, () => {
        probe.off('error', reject);
        resolve();
      });
    });
    probe.on('error', () => undefined); // e.g. ICMP errors surfacing later: same as no answer
    const changed = await stunQuery(probe, server, { ...timing, changePort: true });
    if (!changed) return 'port-dependent';
    return changed.response.kind === 'success' && changed.from.port !== server.port ? 'port-independent' : 'unknown';
  } catch {
    return 'unknown';
  } finally {
    probe.close();
  }
}

/**
 * Tells endpoint-independent from endpoint-dependent mapping by comparing the caller's mapped
 * address toward the primary and the alternate server port, then probes port filtering (see
 * probeFiltering). Needs a server that sends OTHER-ADDRESS; otherwise both come back 'unknown'.
 */
export async function discoverNatBehaviour(socket: Socket, server: StunEndpoint, timing: Timing = {}): Promise<NatBehaviour> {
  const first = await stunQuery(socket, server, { ...timing, discovery: true });
  if (!first || first.response.kind !== 'success') return { mapping: 'unknown', filtering: 'unknown' };
  const mapped = first.response.mapped;
  const other = first.response.otherAddress;
  if (!other) return { mapped, mapping: 'unknown', filtering: 'unknown' };

  const alt = await stunQuery(socket, { host: other.address, port: other.port }, timing);
  const filtering = await probeFiltering(socket.address().family, server, timing);
  if (!alt || alt.response.kind !== 'success') return { mapped, mapping: 'unknown', filtering };
  const mappedAlt = alt.response.mapped;
  const mapping = sameAddress(mapped, mappedAlt) ? 'endpoint-independent' : 'endpoint-dependent';
  return { mapped, mappedAlt, mapping, filtering };
}
