// Which room address goes to which WireGuard peer. Every member claims an address in its
// announcement; the lowest public key among the claimants of one address owns it (the rule every
// member applies alike, see room-address.ts), and only an owner gets the address as its allowed
// IP, so a member cannot take over another's traffic by claiming its address.
import { parsePrefix } from '../../shared/net/address.js';
import type { Logger } from '../log.js';
import type { Device } from '../wireguard/device.js';
import { claimWinners, inSubnet, type RoomSubnet } from './room-address.js';
import type { Member } from './room-members.js';

export class AddressRouting {
  constructor(
    private readonly device: Device,
    private readonly subnet: RoomSubnet,
    private readonly selfKey: Buffer,
    /** Routes an address outside the room subnet (a member with its own --address) into the TUN. */
    private readonly addRoute: (cidr: string) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Updates every member's allowed IP; returns false when a lower key claims `selfAddress`. */
  apply(members: readonly Member[], selfAddress: string): boolean {
    const winners = claimWinners([{ publicKey: this.selfKey, address: selfAddress }, ...members]);
    for (const m of members) {
      const want = winners.get(m.address)?.equals(m.publicKey) ? m.address : undefined;
      if (want === m.routed) continue;
      const peer = this.device.getPeer(m.publicKey);
      if (!peer) continue;
      if (m.routed) this.device.allowedIps.remove(parsePrefix(`${m.routed}/32`), peer);
      if (want) {
        this.device.allowedIps.insert(parsePrefix(`${want}/32`), peer);
        if (!inSubnet(want, this.subnet)) void this.addRoute(`${want}/32`).catch(() => undefined);
      } else {
        this.log.warn('address claimed by a member with a lower key; not routed', { name: m.name, address: m.address });
      }
      m.routed = want;
    }
    return winners.get(selfAddress)?.equals(this.selfKey) ?? false;
  }
}
