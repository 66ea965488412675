// RFC 5780 style NAT behaviour discovery against a wgp2p server with an alternate STUN port.
import dgram, { type Socket } from 'node:dgram';
import type { StunAddress } from './attributes.js';
import { makeEndpoint, sameEndpoint, type Endpoint } from '../net/address.js';
import type { HostPort } from '../net/host-port.js';
import { endpointOfStun, stunQuery, type StunAnswer, type StunQueryOptions } from './client.js';

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

type Timing = Pick<StunQueryOptions, 'rtoMs' | 'attempts' | 'discovery'>;

/** Probes whether the NAT filters by port; the real one uses a fresh socket (probeFiltering). */
export type FilteringProbe = (server: Endpoint, timing: Timing) => Promise<FilteringBehaviour>;

/**
 * Asks the primary port to answer from the alternate one, from a fresh socket that has never
 * sent to the alternate port: the answer gets through only if the NAT does not filter by port.
 * A fresh socket, because a filtered answer is not harmless: a conntrack NAT records it as an
 * inbound flow on the mapped port, and a later packet from the caller's socket to the alternate
 * port would then be given another public port, making a plain MASQUERADE look
 * endpoint-dependent.
 */
export async function probeFiltering(family: string, server: HostPort, timing: Timing = {}): Promise<FilteringBehaviour> {
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

/** A Binding query from the caller's socket (a StunClient's, or stunQuery's over a dgram socket). */
export type StunQuery = (server: Endpoint, timing: Timing) => Promise<StunAnswer | undefined>;

export interface NatDiscovery {
  /** Our mapping toward the server's primary address; undefined when the server did not answer. */
  mapped?: Endpoint;
  /** ... and toward its OTHER-ADDRESS. */
  mappedAlt?: Endpoint;
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
}

/**
 * The one NAT discovery: tells endpoint-independent from endpoint-dependent mapping by comparing
 * the caller's mapped address toward the primary and the alternate server port, and probes port
 * filtering (from a fresh socket: see probeFiltering) meanwhile. Needs a server that sends
 * OTHER-ADDRESS; otherwise both come back 'unknown'.
 */
export async function discoverNat(query: StunQuery, server: Endpoint, filtering: FilteringProbe = realFilteringProbe, timing: Timing = {}): Promise<NatDiscovery> {
  const first = await query(server, { ...timing, discovery: true });
  if (!first || first.response.kind !== 'success') return { mapping: 'unknown', filtering: 'unknown' };
  const mapped = endpointOfStun(first.response.mapped);
  const other = first.response.otherAddress;
  if (!other) return { mapped, mapping: 'unknown', filtering: 'unknown' };
  const [alt, filtered] = await Promise.all([query(endpointOfStun(other), timing), filtering(server, timing)]);
  if (!alt || alt.response.kind !== 'success') return { mapped, mapping: 'unknown', filtering: filtered };
  const mappedAlt = endpointOfStun(alt.response.mapped);
  const mapping = sameEndpoint(mapped, mappedAlt) ? 'endpoint-independent' : 'endpoint-dependent';
  return { mapped, mappedAlt, mapping, filtering: filtered };
}

export function realFilteringProbe(server: Endpoint, timing: Timing = {}): Promise<FilteringBehaviour> {
  return probeFiltering(server.family === 6 ? 'IPv6' : 'IPv4', { host: server.address, port: server.port }, timing);
}

/** discoverNat over a node:dgram socket (netcheck, the server's tests), in STUN address terms. */
export async function discoverNatBehaviour(socket: Socket, server: HostPort, timing: Timing = {}): Promise<NatBehaviour> {
  const r = await discoverNat((to, t) => stunQuery(socket, { host: to.address, port: to.port }, t), makeEndpoint(server.host, server.port), realFilteringProbe, timing);
  const stunAddress = (e: Endpoint | undefined): StunAddress | undefined => e && { family: e.family === 6 ? 'IPv6' : 'IPv4', address: e.address, port: e.port };
  const mapped = stunAddress(r.mapped);
  const mappedAlt = stunAddress(r.mappedAlt);
  return { ...(mapped && { mapped }), ...(mappedAlt && { mappedAlt }), mapping: r.mapping, filtering: r.filtering };
}
