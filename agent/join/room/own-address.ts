// Our own room address: every member's claim is routed to it while it owns it (address-routing.ts);
// when a member with a lower key claims ours, we move to the next address of our sequence and
// re-announce (never with a fixed --address: then we only say so, once).
import type { Logger } from '../../../shared/log.js';
import type { TunnelPort } from '../ports.js';
import type { AddressRouting } from './address-routing.js';
import { chooseAddress, type RoomSubnet } from './room-address.js';
import type { RoomMembers } from './room-members.js';

export interface OwnAddressContext {
  tunnel: Pick<TunnelPort, 'replaceAddress'>;
  routing: AddressRouting;
  members: RoomMembers;
  subnet: RoomSubnet;
  publicKey: Buffer;
  fixed: boolean;
  log: Logger;
  /** Our address moved: tell the room. */
  moved(): void;
}

export class OwnAddress {
  private moving = false;
  private warnedFixedClash = false;

  constructor(
    private readonly c: OwnAddressContext,
    public address: string,
  ) {}

  /** Routes each member's address to it while it owns it; moves ours if a lower key claims it. */
  resolve(): void {
    const members = this.c.members.all();
    if (this.c.routing.apply(members, this.address)) return;
    if (this.c.fixed) {
      if (!this.warnedFixedClash) this.c.log.error('our --address is claimed by a member with a lower key; it wins', { address: this.address });
      this.warnedFixedClash = true;
      return;
    }
    void this.move();
  }

  private async move(): Promise<void> {
    if (this.moving) return;
    this.moving = true;
    const bits = this.c.subnet.bits;
    try {
      const taken = new Set(this.c.members.all().map((m) => m.address));
      const next = chooseAddress(this.c.publicKey, this.c.subnet, (a) => taken.has(a));
      await this.c.tunnel.replaceAddress(`${this.address}/${bits}`, `${next}/${bits}`);
      this.c.log.warn('address collision: moved to the next address of our sequence', { from: this.address, to: next });
      this.address = next;
      this.c.moved();
    } catch (e) {
      this.c.log.error('cannot move our address', { error: (e as Error).message });
    } finally {
      this.moving = false;
    }
  }
}
