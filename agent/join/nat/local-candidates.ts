// Our own reachable addresses, kept current: host addresses (re-read periodically, so a network
// change is noticed) and the server-reflexive address of the WireGuard socket (STUN through the
// socket itself), and the gateway's port mapping when it granted one. `refresh()` says whether anything changed, so the agent re-announces only then.
import { sameEndpoint, type Endpoint } from '../../../shared/net/address.js';
import type { NatInfo } from '../room/announcement.js';
import { hostCandidates, sameCandidates, type Candidate, type HostCandidateOptions } from './candidates.js';
import { endpointOfStun, type StunClient } from '../../../shared/stun/client.js';
import { discoverNat, realFilteringProbe, type FilteringProbe } from '../../../shared/stun/discovery.js';

const STUN_TIMING = { rtoMs: 200, attempts: 3 };

export interface LocalCandidateOptions extends Omit<HostCandidateOptions, 'port'> {
  stun: StunClient;
  /** The server's STUN service; undefined when it could not be resolved (yet). */
  stunServer: () => Endpoint | undefined;
  /** The WireGuard socket's port. */
  port: () => number;
  /** For in-memory networks; defaults to a probe from a fresh real socket. */
  probeFiltering?: FilteringProbe;
}

export class LocalCandidates {
  private host: Candidate[] = [];
  private reflexive: Endpoint | undefined;
  private mapped: Endpoint | undefined;
  nat: NatInfo = { mapping: 'unknown', filtering: 'unknown' };

  constructor(private readonly o: LocalCandidateOptions) {}

  list(): Candidate[] {
    const out = [...this.host];
    const listed = (e: Endpoint) => out.some((c) => sameEndpoint(c.endpoint, e));
    if (this.mapped && !listed(this.mapped)) out.push({ kind: 'portmap', endpoint: this.mapped });
    if (this.reflexive && !listed(this.reflexive)) out.push({ kind: 'public', endpoint: this.reflexive });
    return out;
  }

  get portmapEndpoint(): Endpoint | undefined {
    return this.mapped;
  }

  /** The gateway's mapping of our port (undefined: none): true when our candidates changed. */
  setPortmap(endpoint: Endpoint | undefined): boolean {
    const before = this.list();
    this.mapped = endpoint;
    return !sameCandidates(before, this.list());
  }

  get publicEndpoint(): Endpoint | undefined {
    return this.reflexive;
  }

  /** Host addresses only (cheap, no network): true when they changed. */
  refreshHost(): boolean {
    const before = this.list();
    this.host = hostCandidates({ ...this.o, port: this.o.port() });
    return !sameCandidates(before, this.list());
  }

  /** Host addresses and one STUN query: true when our candidates changed. */
  async refresh(): Promise<boolean> {
    const before = this.list();
    this.host = hostCandidates({ ...this.o, port: this.o.port() });
    const server = this.o.stunServer();
    if (server) {
      const answer = await this.o.stun.query(server, STUN_TIMING);
      if (answer?.response.kind === 'success') this.reflexive = endpointOfStun(answer.response.mapped);
      // No answer: keep the last known mapping; the server may be down while the NAT is not.
    }
    return !sameCandidates(before, this.list());
  }

  /** Full NAT behaviour discovery (a few round trips); true when it or our candidates changed. */
  async discoverNat(): Promise<boolean> {
    const server = this.o.stunServer();
    if (!server) return false;
    const before = this.list();
    const report = await discoverNat((to, timing) => this.o.stun.query(to, timing), server, this.o.probeFiltering ?? realFilteringProbe, STUN_TIMING);
    if (report.mapped) this.reflexive = report.mapped;
    const changed = report.mapping !== this.nat.mapping || report.filtering !== this.nat.filtering;
    this.nat = { mapping: report.mapping, filtering: report.filtering };
    return changed || !sameCandidates(before, this.list());
  }
}
