// Which room address goes to which WireGuard peer. Every member claims an address in its
// announcement; the earliest claim (then the lowest key) among the claimants of one address owns
// it (the rule every member applies alike, see room-address.ts), and only an owner gets the
// address as its allowed IP, so a member cannot take over another's traffic by claiming its
// address (nor the IPv6 room address derived from it). Our own address never goes to a peer,
// whoever wins it: until we have moved off it, packets to it are ours, and a peer may not send
// from it. Only host addresses of our room subnet are routed: a member announcing 8.8.8.8 (or the
// server's address) would otherwise pull that traffic into its tunnel. An address contested by
// claims that all predate our joining goes to nobody while the contest lasts (unjudgedClaims): a
// backdated claim must not win just because we were not there to see it appear.
//
// With the classic hub we chose (`--use-hub`, see roles/hub.ts; never one that merely announces
// `--hub`), the hub's peer also gets the whole room subnet, and a member we reach only through
// the hub (no direct path, no relay) loses its own /32: its address then falls to the hub's
// prefix, both for sending and for the source check of what the hub forwards from it.
import { parsePrefix } from '../../../shared/net/address.js';
import type { Logger } from '../../../shared/log.js';
import type { JoinEngine } from '../ports.js';
import { claimTime, claimWinners, formatSubnet, isRoomHost, unjudgedClaims, type RoomSubnet } from './room-address.js';
import type { Member } from './room-members.js';
import { chosenHub } from '../roles/hub.js';
import { roomIpv6 } from './room-ipv6.js';

/** A member's room address and the IPv6 one derived from it (room-ipv6.ts): both are its own. */
const hostPrefixes = (address: string) => [parsePrefix(`${address}/32`), parsePrefix(`${roomIpv6(address)}/128`)];

export class AddressRouting {
  constructor(
    private readonly engine: Pick<JoinEngine, 'allow' | 'disallow' | 'hasPeer'>,
    private readonly subnet: RoomSubnet,
    private readonly selfKey: Buffer,
    private readonly log: Logger,
    private readonly useHub?: string,
  ) {}

  private hubKey: Buffer | undefined;
  private readonly warnedOutside = new WeakSet<Member>();
  private readonly warnedOurs = new WeakSet<Member>();
  private readonly warnedUnjudged = new WeakSet<Member>();

  /** Updates every member's allowed IP; returns false when an earlier claim holds our address. */
  apply(members: readonly Member[], self: { address: string; since: number }): boolean {
    this.applyHub(members);
    const claims = members.map((m) => ({ publicKey: m.publicKey, address: m.address, since: claimTime(m.addressSince, m.claimSeenAt) }));
    const winners = claimWinners([{ publicKey: this.selfKey, address: self.address, since: self.since }, ...claims]);
    const unjudged = unjudgedClaims(members.map((m) => ({ address: m.address, seenAt: m.claimSeenAt })));
    for (const m of members) {
      const routable = isRoomHost(m.address, this.subnet) && m.address !== self.address;
      const contested = routable && unjudged.has(m.address);
      const owner = routable && !contested && (winners.get(m.address)?.equals(m.publicKey) ?? false);
      if (contested && !this.warnedUnjudged.has(m)) {
        this.warnedUnjudged.add(m);
        this.log.warn('address contested by members that both claimed it before we joined; routed to neither while both claim it', { name: m.name, address: m.address });
      }
      const want = owner && !m.viaHub ? m.address : undefined;
      if (m.address === self.address && !this.warnedOurs.has(m)) {
        this.warnedOurs.add(m);
        this.log.warn('our address is claimed by another member; not routed to it', { name: m.name, address: m.address });
      } else if (m.address !== self.address && !isRoomHost(m.address, this.subnet) && !this.warnedOutside.has(m)) {
        this.warnedOutside.add(m);
        this.log.warn('member address outside the room subnet; not routed (every member must use one subnet)', { name: m.name, address: m.address, subnet: formatSubnet(this.subnet) });
      }
      if (want === m.routed) continue;
      if (!this.engine.hasPeer(m.publicKey)) continue;
      if (m.routed) for (const p of hostPrefixes(m.routed)) this.engine.disallow(p, m.publicKey);
      if (want) for (const p of hostPrefixes(want)) this.engine.allow(p, m.publicKey);
      else if (routable && !owner && !contested) this.log.warn('address held by an earlier claim; not routed', { name: m.name, address: m.address });
      m.routed = want;
    }
    return winners.get(self.address)?.equals(this.selfKey) ?? false;
  }

  /** The room subnet goes to our chosen hub, if any (one prefix has one peer). */
  private applyHub(members: readonly Member[]): void {
    const hub = chosenHub(members, this.useHub);
    const key = hub?.publicKey;
    if (key === this.hubKey || (key && this.hubKey?.equals(key))) return;
    const prefix = parsePrefix(formatSubnet(this.subnet));
    if (this.hubKey) this.engine.disallow(prefix, this.hubKey);
    const peer = !!key && this.engine.allow(prefix, key);
    this.hubKey = peer ? key : undefined;
    if (peer) this.log.info('the room subnet routes to the hub for members without another path', { hub: hub!.name });
  }
}
