// The host side of IPv6 room addresses (room-ipv6.ts): a member that routes (any route or exit
// node flag) gives its tunnel its IPv6 room address, which also routes the room's IPv6 subnet
// into the tunnel: the source of its IPv6 traffic to an advertised LAN, and the way back to the
// members for a router. Hosts without IPv6 stay IPv4-only (logged). IPv6 is turned on for our
// own interface only (a lab or host may default it off); the interface goes with us.
import { writeFileSync } from 'node:fs';
import type { Logger } from '../../../shared/log.js';
import { addAddress, removeAddress } from '../../tun/link-config.js';
import { roomIpv6, roomIpv6Cidr } from '../room/room-ipv6.js';
import type { RoomSubnet } from '../room/room-address.js';

export interface RoomIpv6Link {
  /** Follows our IPv4 room address when it moves (an earlier claim held it). */
  move(from: string, to: string): Promise<void>;
}

/** Our IPv6 room address on `ifname`; undefined (logged) when the host has no IPv6. */
export async function addRoomIpv6(ifname: string, address: string, subnet: RoomSubnet, log: Logger): Promise<RoomIpv6Link | undefined> {
  try {
    writeFileSync(`/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`, '0');
    await addAddress(ifname, roomIpv6Cidr(address, subnet));
  } catch (e) {
    log.warn('no IPv6 room address (IPv6 routes and exit traffic stay off here)', { error: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
    return undefined;
  }
  log.info('IPv6 room address', { address: roomIpv6(address) });
  return {
    async move(from, to) {
      await addAddress(ifname, roomIpv6Cidr(to, subnet));
      await removeAddress(ifname, roomIpv6Cidr(from, subnet));
    },
  };
}
