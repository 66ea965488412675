// Disco: small authenticated ping/pong datagrams that probe paths between two members on the
// WireGuard UDP socket itself, so a path that answers disco also carries WireGuard. One socket
// carries four protocols, told apart by their first bytes (the layouts are in shared/wire/ and
// shared/stun/). Packets name the pair by an 8-byte id derived from the pair key (no public key in
// clear), say which end sent them (so a reflected probe is refused), and end with a 16-byte
// HMAC-SHA256 tag keyed by the pair's disco key. A pong echoes the ping's transaction id and tells
// the pinger the address its ping came from.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isStunMessage } from '../../../../shared/stun/message.js';
import { isRelayPacket } from '../../../../shared/wire/relay.js';
import { hasWireGuardHeader } from '../../../../shared/wire/wireguard.js';
import {
  decodeDiscoAddress,
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

export interface DiscoPong extends DiscoHeader {
  /** Where the pinged member saw the ping come from: our address on that path. */
  observed: Endpoint;
}

export function newTxid(): Buffer {
  return randomBytes(DISCO_TXID_BYTES);
}

function tag(key: Uint8Array, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update(body).digest().subarray(0, DISCO_TAG_BYTES);
}

export function encodePing(key: Uint8Array, side: 0 | 1, pairId: Uint8Array, txid: Uint8Array): Buffer {
  const body = encodeDiscoHeader(DISCO_PING, side, pairId, txid);
  return Buffer.concat([body, tag(key, body)]);
}

export function encodePong(key: Uint8Array, side: 0 | 1, pairId: Uint8Array, txid: Uint8Array, observed: Endpoint): Buffer {
  const body = Buffer.concat([encodeDiscoHeader(DISCO_PONG, side, pairId, txid), encodeDiscoAddress(observed)]);
  return Buffer.concat([body, tag(key, body)]);
}

/** Checks the tag with the pair's key; for a pong also decodes the observed address. */
export function openDisco(key: Uint8Array, d: Uint8Array): DiscoHeader | DiscoPong | undefined {
  const h = peekDisco(d);
  if (!h) return undefined;
  const body = d.subarray(0, d.length - DISCO_TAG_BYTES);
  const got = d.subarray(d.length - DISCO_TAG_BYTES);
  if (!timingSafeEqual(tag(key, body), got)) return undefined;
  if (h.type === DISCO_PING) return h;
  const observed = decodeDiscoAddress(d);
  if (!observed) return undefined;
  return { ...h, observed };
}

/**
 * The transaction ids of the last `capacity` pings answered for one pair. A ping is answered once:
 * a replayed capture (perhaps with a forged source address) gets nothing, so an agent cannot be
 * used to reflect pongs at someone else.
 */
export class AnsweredPings {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 256) {}

  /** True the first time `txid` is seen (answer it), false after. */
  firstTime(txid: Buffer): boolean {
    const key = txid.toString('hex');
    if (this.ids.has(key)) return false;
    this.ids.add(key);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}
