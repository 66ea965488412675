// How our NAT treats the WireGuard socket, learned from the signal server's STUN service:
//  - mapping: the same public address toward the server's primary and alternate port
//    (endpoint-independent) or not (endpoint-dependent, "symmetric");
//  - filtering: whether an answer from a port we never sent to gets in. Probed from a fresh
//    socket: a filtered answer leaves a conntrack entry on Linux NATs that would make the
//    WireGuard socket's next mapping look endpoint-dependent.
// Needs a server with --stun-alt-port (OTHER-ADDRESS); otherwise both are 'unknown'.
import type { Endpoint } from '../../shared/net/address.js';
import { probeFiltering } from '../../shared/stun/discovery.js';
import type { MappingBehaviour, NatInfo } from './announcement.js';
import { endpointOfStun, type StunTransactions } from './stun-transactions.js';

export interface NatReport extends NatInfo {
  /** Our mapped address toward the server's primary port. */
  mapped?: Endpoint;
  mappedAlt?: Endpoint;
}

const TIMING = { rtoMs: 200, attempts: 3 };

export async function discoverNat(stun: StunTransactions, server: Endpoint): Promise<NatReport> {
  const first = await stun.query(server, { ...TIMING, discovery: true });
  if (!first || first.response.kind !== 'success') return { mapping: 'unknown', filtering: 'unknown' };
  const mapped = endpointOfStun(first.response.mapped);
  const other = first.response.otherAddress;
  if (!other) return { mapped, mapping: 'unknown', filtering: 'unknown' };
  const altServer = endpointOfStun(other);
  const [alt, filtering] = await Promise.all([stun.query(altServer, TIMING), probeFiltering(server.family === 6 ? 'IPv6' : 'IPv4', { host: server.address, port: server.port }, TIMING)]);
  if (!alt || alt.response.kind !== 'success') return { mapped, mapping: 'unknown', filtering };
  const mappedAlt = endpointOfStun(alt.response.mapped);
  const mapping: MappingBehaviour = mapped.address === mappedAlt.address && mapped.port === mappedAlt.port ? 'endpoint-independent' : 'endpoint-dependent';
  return { mapped, mappedAlt, mapping, filtering };
}
