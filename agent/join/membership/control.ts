// The control socket's membership operations on a running agent: `remove` (wgp2p remove NAME|KEY,
// admins only) and `members` (wgp2p members).
import type { ControlHandler } from '../../daemon/control-socket.js';
import type { RoomMembership } from './room-membership.js';

export function membershipHandlers(membership: () => RoomMembership | undefined): Record<string, ControlHandler> {
  const room = (): RoomMembership => {
    const m = membership();
    if (!m) throw new Error('this room has no admins (it was joined with a secret only): nobody can be removed, change the secret instead');
    return m;
  };
  return {
    remove: (req) => {
      const ref = req.member;
      if (typeof ref !== 'string' || ref.length === 0 || ref.length > 128) throw new Error('remove needs {"member": NAME|PUBLIC-KEY}');
      return room().remove(ref);
    },
    members: () => room().list(),
  };
}
