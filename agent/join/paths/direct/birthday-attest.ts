// Whose address is a birthday target? A member's public address is only its announcement's word,
// and birthday punching sends thousands of probes (easy side) or 256 sockets' worth (hard side)
// there; an insider announcing a third party's address would aim them at it. The signal server
// tells each member the public IP it observed for every other (protocol.ts Seen: the source of the
// member's UDP relay binding, which answered the server's challenge there, else of its
// WebSocket), so we punch only toward an announced public address the server saw the member at.
// IPv4 must match exactly; IPv6 to the /64 (one subscriber's prefix, as every per-address limit
// groups it). A server that predates the field says nothing: birthday punching then goes on as
// before, within its per-address budget, and is counted as unattested. Once a server has told us
// any `seen`, a member it says nothing about (an orphan it no longer lists) is refused too.
import { hostGroup } from '../../../../shared/net/address-group.js';
import type { Endpoint } from '../../../../shared/net/address.js';
import type { Candidate } from '../../nat/candidates.js';

/** What the server told us, by server member id (only while the member is listed). */
export class ServerSeen {
  private readonly byMember = new Map<string, string>();
  /** A server told us a `seen`: from now on silence about a member is no longer an older server's. */
  private attesting = false;

  /** A member list: it replaces all we knew (ids are per connection, so old ones are gone). */
  list(members: readonly { id: string; seen?: string }[]): void {
    this.byMember.clear();
    for (const m of members) this.record(m.id, m.seen);
  }

  record(memberId: string, seen: string | undefined): void {
    if (seen === undefined) return void this.byMember.delete(memberId);
    this.byMember.set(memberId, seen);
    this.attesting = true;
  }

  attests(): boolean {
    return this.attesting;
  }

  forget(memberId: string): void {
    this.byMember.delete(memberId);
  }

  get(memberId: string): string | undefined {
    return this.byMember.get(memberId);
  }
}

export type Attestation =
  /** The server saw the member at this announced public address. */
  | { verdict: 'attested'; target: Endpoint }
  /** The server said nothing (it predates attestation): the announced address, on its word. */
  | { verdict: 'unattested'; target: Endpoint }
  /** The server saw the member elsewhere (or, attesting, says nothing of it): no target. */
  | { verdict: 'refused'; announced: Endpoint; seen: string | undefined }
  /** Nothing announced to punch toward. */
  | { verdict: 'none' };

/** One host for attestation: the same IPv4 address, or the same IPv6 /64. */
export function sameHost(a: string, b: string): boolean {
  return hostGroup(a) === hostGroup(b);
}

/** The birthday target among a member's candidates, given what the server saw and whether it tells (see the top). */
export function attestTarget(candidates: readonly Candidate[], seen: string | undefined, attests: boolean): Attestation {
  const announced = candidates.filter((c) => c.kind === 'public').map((c) => c.endpoint);
  const first = announced[0];
  if (!first) return { verdict: 'none' };
  if (seen === undefined) return attests ? { verdict: 'refused', announced: first, seen } : { verdict: 'unattested', target: first };
  const target = announced.find((e) => sameHost(e.address, seen));
  return target ? { verdict: 'attested', target } : { verdict: 'refused', announced: first, seen };
}
