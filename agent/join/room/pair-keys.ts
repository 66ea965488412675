// Per-pair secrets derived from the room key and the two members' public keys. Both members
// compute the same values without talking (the keys are sorted first), and nobody outside the
// room can: the WireGuard preshared key of the pair, and the keys of its disco path probes.
import { hkdfSync } from 'node:crypto';

export interface PairKeys {
  /** WireGuard PresharedKey for this pair (32 bytes). */
  presharedKey: Buffer;
  /** Authenticates disco pings and pongs between the two (32 bytes). */
  discoKey: Buffer;
  /** Proves a member's relay binding to a bounce peer that is the other end of this pair. */
  relayKey: Buffer;
  /** Names the pair in disco packets without revealing either public key (8 bytes). */
  pairId: Buffer;
  /** 0 or 1: which end of the pair we are (the lower public key is 0); stops reflected probes. */
  side: 0 | 1;
}

function ordered(a: Uint8Array, b: Uint8Array): [Buffer, Buffer] {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y) <= 0 ? [x, y] : [y, x];
}

function expand(ikm: Uint8Array, salt: Buffer, label: string, bytes: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, `wgp2p pair ${label} v1`, bytes));
}

/** The pair's preshared key: the same whichever member computes it. */
export function pairPresharedKey(roomKey: Uint8Array, a: Uint8Array, b: Uint8Array): Buffer {
  return expand(roomKey, Buffer.concat(ordered(a, b)), 'psk', 32);
}

/** Everything a member needs for one peer: `self` is our public key, `peer` theirs. */
export function derivePairKeys(roomKey: Uint8Array, self: Uint8Array, peer: Uint8Array): PairKeys {
  if (Buffer.from(self).equals(Buffer.from(peer))) throw new Error('a pair needs two different public keys');
  const salt = Buffer.concat(ordered(self, peer));
  const presharedKey = expand(roomKey, salt, 'psk', 32);
  return {
    presharedKey,
    // Disco keys come from the psk, so they are bound to exactly this pair in this room.
    discoKey: expand(presharedKey, salt, 'disco key', 32),
    pairId: expand(presharedKey, salt, 'disco id', 8),
    relayKey: expand(presharedKey, salt, 'relay key', 32),
    side: Buffer.compare(Buffer.from(self), Buffer.from(peer)) < 0 ? 0 : 1,
  };
}
