// Per-pair secrets of two members. Both compute the same values without talking (the keys are
// sorted first): the WireGuard preshared key of the pair, the keys of its disco path probes and
// its relay binding key. Like WireGuard's own handshake, the input mixes the room key with the
// X25519 result of the two members' static keys, so only the two ends can compute them: the room
// secret admits a member to the room, never to another pair's keys (a third member holding the
// room key alone could otherwise forge their disco probes or relay bindings).
import { hkdfSync } from 'node:crypto';

export interface PairKeys {
  /** WireGuard PresharedKey for this pair (32 bytes). */
  presharedKey: Buffer;
  /** Authenticates disco pings and pongs between the two (32 bytes). */
  discoKey: Buffer;
  /** Proves a member's relay binding to a bounce peer that is the other end of this pair. */
  relayKey: Buffer;
  /** Authenticates directed messages (punch requests, goodbyes) between the two (32 bytes). */
  messageKey: Buffer;
  /** Names the pair in disco packets without revealing either public key (8 bytes). */
  pairId: Buffer;
  /** 0 or 1: which end of the pair we are (the lower public key is 0); stops reflected probes. */
  side: 0 | 1;
}

/** Our static key: its public half, and X25519 with a peer's public key (undefined for a low-order key). */
export interface PairIdentity {
  publicKey: Uint8Array;
  dh(peer: Uint8Array): Buffer | undefined;
}

function ordered(a: Uint8Array, b: Uint8Array): [Buffer, Buffer] {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y) <= 0 ? [x, y] : [y, x];
}

function expand(ikm: Uint8Array, salt: Buffer, label: string, bytes: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, `wgp2p pair ${label} v2`, bytes));
}

/** Everything a member needs for one peer: `self` is our static key, `peer` their public key. */
export function derivePairKeys(roomKey: Uint8Array, self: PairIdentity, peer: Uint8Array): PairKeys {
  if (Buffer.from(self.publicKey).equals(Buffer.from(peer))) throw new Error('a pair needs two different public keys');
  const shared = self.dh(peer);
  if (!shared) throw new Error('a pair needs a usable public key (X25519 gave zero)');
  const salt = Buffer.concat(ordered(self.publicKey, peer));
  const presharedKey = expand(Buffer.concat([roomKey, shared]), salt, 'psk', 32);
  return {
    presharedKey,
    // Disco and relay keys come from the psk, so they are bound to exactly this pair in this room.
    discoKey: expand(presharedKey, salt, 'disco key', 32),
    pairId: expand(presharedKey, salt, 'disco id', 8),
    relayKey: expand(presharedKey, salt, 'relay key', 32),
    messageKey: expand(presharedKey, salt, 'message key', 32),
    side: Buffer.compare(Buffer.from(self.publicKey), Buffer.from(peer)) < 0 ? 0 : 1,
  };
}
