// WireGuard's four messages as they travel (the WireGuard paper, §5.4): the one place their type
// numbers, sizes and field offsets are written down. The engine encodes and decodes them
// (agent/wireguard/messages.ts); the join agent and the relays only recognise them.
// Little-endian; byte 0 is the type, bytes 1..3 are zero; each field ends where the next begins.

export const MSG_INITIATION = 1;
export const MSG_RESPONSE = 2;
export const MSG_COOKIE_REPLY = 3;
export const MSG_TRANSPORT = 4;

/** Bytes 0..3: the type, then three reserved zero bytes. */
export const TYPE_HEADER_SIZE = 4;

// Handshake layouts: the offset of each field, and `size`, where the last field ends (a handshake
// message has exactly its size).
// Initiation: sender(4) ephemeral(32) static(32+16) timestamp(12+16) mac1(16) mac2(16).
export const INITIATION = Object.freeze({ sender: 4, ephemeral: 8, static: 40, timestamp: 88, mac1: 116, mac2: 132, size: 148 } as const);
// Response: sender(4) receiver(4) ephemeral(32) empty(0+16) mac1(16) mac2(16).
export const RESPONSE = Object.freeze({ sender: 4, receiver: 8, ephemeral: 12, empty: 44, mac1: 60, mac2: 76, size: 92 } as const);
// Cookie reply: receiver(4) nonce(24) cookie(16+16).
export const COOKIE_REPLY = Object.freeze({ receiver: 4, nonce: 8, cookie: 32, size: 64 } as const);

// Transport: receiver(4) counter(8) then the sealed packet. Plain numbers: this is the hot path.
export const TRANSPORT_RECEIVER = 4;
export const TRANSPORT_COUNTER = 8;
export const TRANSPORT_HEADER_SIZE = 16;
export const TRANSPORT_MIN_SIZE = 32; // header + the empty payload's tag: a keepalive
/** A UDP payload's length field caps a transport message (no multiple-of-16 rule: see below). */
export const TRANSPORT_MAX_SIZE = 65_535;

/** Byte 0 is a WireGuard type and bytes 1..3 are zero, whatever the length. */
export function hasWireGuardHeader(d: Uint8Array): boolean {
  return d.length >= TYPE_HEADER_SIZE && d[0]! >= MSG_INITIATION && d[0]! <= MSG_TRANSPORT && d[1] === 0 && d[2] === 0 && d[3] === 0;
}

/** The message type, or 0 when the datagram cannot be a WireGuard message at all. */
export function messageType(d: Uint8Array): number {
  if (!hasWireGuardHeader(d)) return 0;
  const t = d[0]!;
  switch (t) {
    case MSG_INITIATION:
      return d.length === INITIATION.size ? t : 0;
    case MSG_RESPONSE:
      return d.length === RESPONSE.size ? t : 0;
    case MSG_COOKIE_REPLY:
      return d.length === COOKIE_REPLY.size ? t : 0;
    default:
      return d.length >= TRANSPORT_MIN_SIZE ? t : 0;
  }
}

/**
 * True when `p` has the type and length of a WireGuard message: all a relay lets through, so it
 * cannot be used to bounce arbitrary traffic at members. No multiple-of-16 check on transport:
 * senders pad to 16 but never beyond their MTU, which need not be one.
 */
export function looksLikeWireGuard(p: Uint8Array): boolean {
  return messageType(p) !== 0 && p.length <= TRANSPORT_MAX_SIZE;
}
