// The bounce side of relaying (`wgp2p join --bounce`): this agent forwards the WireGuard packets of
// other members of its room, opaquely, on its own WireGuard socket. It holds none of their session
// keys; it only checks that a binding comes from a member of the room (bounce-auth.ts) and that
// what it forwards has the shape of a WireGuard message (shared/relay/relay-switch.ts).
import type { Endpoint } from '../../../shared/net/address.js';
import { RelaySwitch, type Datagram, type RelayLimits } from '../../../shared/relay/relay-switch.js';
import { checkBounceBindAuth } from './bounce-auth.js';
import type { RoomMembers } from '../room/room-members.js';

export class Bounce {
  readonly relay: RelaySwitch;

  constructor(
    members: RoomMembers,
    private readonly queue: (d: Datagram) => void,
    limits: Partial<RelayLimits> = {},
  ) {
    this.relay = new RelaySwitch(
      {
        authorize: (id, auth) => {
          const m = members.byMember(id);
          return !!m && checkBounceBindAuth(m.keys.relayKey, id, auth);
        },
        mayForward: (from, to) => from !== to && !!members.byMember(from) && !!members.byMember(to),
      },
      limits,
    );
  }

  /** A relay datagram addressed to us as a relay. */
  receive(data: Buffer, from: Endpoint, now: number): void {
    for (const d of this.relay.receive(data, from, now)) this.queue(d);
  }

  /** A member left the room: it may no longer use us. */
  forget(memberId: string): void {
    this.relay.unbind(memberId);
  }

  sweep(now: number): void {
    this.relay.sweep(now);
  }

  counters(): Record<string, number> {
    const s = this.relay.stats;
    const out: Record<string, number> = { bounce_relayed_packets: s.packets, bounce_relayed_bytes: s.bytes, bounce_binds: s.binds, bounce_challenges: s.challenges, bounce_bindings: this.relay.bindingCount };
    for (const [reason, n] of s.dropped) out[`bounce_dropped_${reason}`] = n;
    return out;
  }
}
