// Disco: small authenticated ping/pong datagrams that probe paths between two members on the
// WireGuard UDP socket itself, so a path that answers disco also carries WireGuard. One socket
// carries four protocols, told apart by their first bytes (the layouts are in shared/wire/ and
// shared/stun/). Packets name the pair by an 8-byte id derived from the pair key (no public key in
// clear), say which end sent them (so a reflected probe is refused), and end with a 16-byte
// HMAC-SHA256 tag keyed by the pair's disco key. A ping carries its send time, so a captured one
// is refused once out of the window (replayed from a forged source it would make us probe there).
// A pong echoes the ping's transaction id and tells the pinger the address its ping came from.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isStunMessage } from '../../../../shared/stun/message.js';
import { isRelayPacket } from '../../../../shared/wire/relay.js';
import { hasWireGuardHeader } from '../../../../shared/wire/wireguard.js';
import {
  decodeDiscoAddress,
  decodeDiscoTime,
  encodeDiscoTime,
  DISCO_PING,
  DISCO_PONG,
  DISCO_TAG_BYTES,
  DISCO_TXID_BYTES,
  encodeDiscoAddress,
  encodeDiscoHeader,
  looksLikeDisco,
  peekDisco,
  type DiscoHeader,
} from '../../../../shared/wire/disco.js';
import type { Endpoint } from '../../../../shared/net/address.js';

export type DatagramKind = 'wireguard' | 'stun' | 'disco' | 'relay' | 'junk';

/** Which protocol a datagram on the shared socket belongs to. Cheap: WireGuard is tested first. */
export function classifyDatagram(d: Uint8Array): DatagramKind {
  if (hasWireGuardHeader(d)) return 'wireguard';
  if (looksLikeDisco(d)) return 'disco';
  if (isRelayPacket(d)) return 'relay';
  if (isStunMessage(d)) return 'stun';
  return 'junk';
}

/** A ping sent this far from our wall clock either way is refused (members' clocks may differ this much). */
export const DISCO_PING_WINDOW_MS = 120_000;

export interface DiscoPing extends DiscoHeader {
  type: typeof DISCO_PING;
  /** When the peer sent it (its wall clock, ms). */
  sentAt: number;
}

export interface DiscoPong extends DiscoHeader {
  type: typeof DISCO_PONG;
  /** Where the pinged member saw the ping come from: our address on that path. */
  observed: Endpoint;
}

export function newTxid(): Buffer {
  return randomBytes(DISCO_TXID_BYTES);
}

function tag(key: Uint8Array, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update(body).digest().subarray(0, DISCO_TAG_BYTES);
}

export function encodePing(key: Uint8Array, side: 0 | 1, pairId: Uint8Array, txid: Uint8Array, wallNow = Date.now()): Buffer {
  const body = Buffer.concat([encodeDiscoHeader(DISCO_PING, side, pairId, txid), encodeDiscoTime(wallNow)]);
  return Buffer.concat([body, tag(key, body)]);
}

export function encodePong(key: Uint8Array, side: 0 | 1, pairId: Uint8Array, txid: Uint8Array, observed: Endpoint): Buffer {
  const body = Buffer.concat([encodeDiscoHeader(DISCO_PONG, side, pairId, txid), encodeDiscoAddress(observed)]);
  return Buffer.concat([body, tag(key, body)]);
}

/** Checks the tag with the pair's key; for a pong also decodes the observed address. */
export function openDisco(key: Uint8Array, d: Uint8Array): DiscoPing | DiscoPong | undefined {
  const h = peekDisco(d);
  if (!h) return undefined;
  const body = d.subarray(0, d.length - DISCO_TAG_BYTES);
  const got = d.subarray(d.length - DISCO_TAG_BYTES);
  if (!timingSafeEqual(tag(key, body), got)) return undefined;
  if (h.type === DISCO_PING) return { ...h, type: DISCO_PING, sentAt: decodeDiscoTime(d) };
  const observed = decodeDiscoAddress(d);
  if (!observed) return undefined;
  return { ...h, type: DISCO_PONG, observed };
}

/**
 * The pings of one pair answered within the time window. A ping is answered once, and only while
 * fresh: a replayed capture (perhaps with a forged source address) gets nothing, so an agent
 * cannot be used to reflect pongs or probes at someone else. The memory covers the whole window;
 * when full (far above any honest peer's rate) new pings wait until old ones expire.
 */
export class AnsweredPings {
  /** txid (hex) to when it stops mattering (our wall clock, ms), oldest first. */
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly capacity = 4096,
    private readonly windowMs = DISCO_PING_WINDOW_MS,
  ) {}

  /** True the first time a fresh ping is seen (answer it), false for a stale or repeated one. */
  firstTime(p: Pick<DiscoPing, 'txid' | 'sentAt'>, wallNow: number): boolean {
    if (Math.abs(p.sentAt - wallNow) > this.windowMs) return false;
    for (const [id, until] of this.ids) {
      if (until >= wallNow) break;
      this.ids.delete(id);
    }
    const key = p.txid.toString('hex');
    if (this.ids.has(key) || this.ids.size >= this.capacity) return false;
    // Remembered until it could no longer pass the time check: sentAt + window.
    this.ids.set(key, Math.max(wallNow, p.sentAt) + this.windowMs);
    return true;
  }
}
