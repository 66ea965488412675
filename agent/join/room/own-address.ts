// Our own room address: every member's claim is routed to it while it owns it (address-routing.ts).
// Our claim carries the time we took the address; when an earlier claim holds it (or an equal
// one with a lower key), we move to the next address of our sequence and re-announce. Never with
// a fixed --address: it does not move, and we say once, clearly, who holds it.
import type { Logger } from '../../../shared/log.js';
import type { JoinClock, TunnelPort } from '../ports.js';
import type { AddressRouting } from './address-routing.js';
import { chooseAddress, claimTime, claimWinners, type RoomSubnet } from './room-address.js';
import type { RoomMembers } from './room-members.js';

export interface OwnAddressContext {
  tunnel: Pick<TunnelPort, 'replaceAddress'>;
  routing: AddressRouting;
  members: RoomMembers;
  subnet: RoomSubnet;
  publicKey: Buffer;
  fixed: boolean;
  clock: Pick<JoinClock, 'wallNow'>;
  log: Logger;
  /** Our address moved: tell the room. */
  moved(): void;
}

export class OwnAddress {
  /** Since when we hold `address` (wall ms): our claim's time in our announcements. */
  since: number;
  private moving = false;
  private warnedFixedClash = false;

  constructor(
    private readonly c: OwnAddressContext,
    public address: string,
  ) {
    this.since = c.clock.wallNow();
  }

  /** Routes each member's address to it while it owns it; moves ours if an earlier claim holds it. */
  resolve(): void {
    const members = this.c.members.all();
    if (this.c.routing.apply(members, { address: this.address, since: this.since })) {
      this.warnedFixedClash = false;
      return;
    }
    if (this.c.fixed) {
      if (!this.warnedFixedClash) {
        const holder = this.holder();
        this.c.log.error('our --address is held by another member that claimed it first; it is not routed to us until that member leaves (choose another --address)', { address: this.address, holder: holder?.name, holderKey: holder?.key });
      }
      this.warnedFixedClash = true;
      return;
    }
    void this.move();
  }

  /** The member whose claim beats ours. */
  private holder() {
    const rivals = this.c.members.all().filter((m) => m.address === this.address);
    const winner = claimWinners(rivals.map((m) => ({ publicKey: m.publicKey, address: m.address, since: claimTime(m.addressSince, m.claimSeenAt) }))).get(this.address);
    return rivals.find((m) => winner?.equals(m.publicKey));
  }

  private async move(): Promise<void> {
    if (this.moving) return;
    this.moving = true;
    const bits = this.c.subnet.bits;
    try {
      const taken = new Set(this.c.members.all().map((m) => m.address));
      const next = chooseAddress(this.c.publicKey, this.c.subnet, (a) => taken.has(a));
      await this.c.tunnel.replaceAddress(`${this.address}/${bits}`, `${next}/${bits}`);
      this.c.log.warn('address collision: an earlier claim holds ours; moved to the next address of our sequence', { from: this.address, to: next });
      this.address = next;
      this.since = this.c.clock.wallNow();
      this.c.moved();
      this.resolve(); // the old address may now go to its holder
    } catch (e) {
      this.c.log.error('cannot move our address', { error: (e as Error).message });
    } finally {
      this.moving = false;
    }
  }
}
