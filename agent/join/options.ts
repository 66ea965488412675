// What a join agent is started with (host.ts fills it from the command line; tests directly).
import type { Logger } from '../../shared/log.js';
import type { Identity } from './identity/identity.js';
import type { PunchTiming } from './paths/direct/punch.js';
import type { RelayTiming } from './paths/relay/relay-paths.js';
import type { RoomSubnet } from './room/room-address.js';
import type { NamesOptions } from './names/room-names.js';
import type { MembershipOptions } from './membership/room-membership.js';

export interface JoinAgentOptions {
  name: string;
  identity: Pick<Identity, 'privateKey' | 'publicKey'>;
  /** The room subnet, and whether our address in it was fixed with --address. */
  subnet: RoomSubnet;
  fixedAddress: boolean;
  keepaliveSeconds: number;
  log: Logger;
  punchTiming?: PunchTiming;
  /** Relay other members' WireGuard packets (`--bounce`). */
  bounce?: boolean;
  /** Forward decrypted room traffic for members that have no other path (`--hub`). */
  hub?: boolean;
  /** Route through this hub (name or public key) when a member has no other path (`--use-hub`); none without it. */
  useHub?: string;
  relayTiming?: Partial<RelayTiming>;
  /** Answer DNS for the room's names (needs ports.dns). */
  names?: NamesOptions;
  /** A room with admins: only admitted keys are members (membership/). */
  membership?: MembershipOptions;
}
