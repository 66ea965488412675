// A transport session (one handshake's pair of keys) and the per-peer slots it moves through:
// next (responder, unconfirmed) → current → previous.
import { MSG_TRANSPORT, TRANSPORT_COUNTER, TRANSPORT_HEADER_SIZE, TRANSPORT_RECEIVER } from '../../shared/wire/wireguard.js';
import { TAG_LEN } from './constants.js';
import { aeadImplementation, sealBatch, transportKey, type AeadImplementation, type TransportAead } from './aead.js';
import type { SessionKeys } from './noise.js';
import { ReplayWindow } from './replay-window.js';

export class Keypair {
  private readonly sender: TransportAead;
  private readonly receiver: TransportAead;
  private readonly rawKeys: Buffer[];
  /** Next counter to send with; a Number is exact far beyond any reachable count. */
  sendCounter = 0;
  readonly replay = new ReplayWindow();

  constructor(
    keys: SessionKeys,
    readonly isInitiator: boolean,
    readonly localIndex: number,
    readonly remoteIndex: number,
    readonly createdAt: number,
    impl: AeadImplementation = aeadImplementation(),
  ) {
    this.sender = transportKey(keys.send, true, impl);
    this.receiver = transportKey(keys.receive, false, impl);
    this.rawKeys = [keys.send, keys.receive];
  }

  /** Overwrites the raw key bytes we hold and frees the AEAD contexts (native ones wipe their key). */
  wipe(): void {
    for (const k of this.rawKeys) k.fill(0);
    this.sender.destroy();
    this.receiver.destroy();
  }

  /**
   * Builds a transport message for `packet`, zero-padded to `paddedLength` (≥ packet length).
   * Consumes one counter value.
   */
  seal(packet: Uint8Array, paddedLength: number): Buffer {
    const counter = this.sendCounter++;
    const out = Buffer.allocUnsafe(TRANSPORT_HEADER_SIZE + paddedLength + TAG_LEN);
    this.writeHeader(out, counter);
    this.sender.seal(counter, packet, out.subarray(TRANSPORT_HEADER_SIZE));
    return out;
  }

  /**
   * Transport messages for `packets` (each zero-padded to `padded(length)`), sealed in one batch
   * and laid out back to back in one buffer. Consumes one counter value per packet, in order.
   */
  sealAll(packets: Uint8Array[], padded: (length: number) => number): Buffer[] {
    const n = packets.length;
    const sizes = new Array<number>(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += sizes[i] = TRANSPORT_HEADER_SIZE + padded(packets[i]!.length) + TAG_LEN;
    const slab = Buffer.allocUnsafe(total);
    const messages = new Array<Buffer>(n);
    const counters = new Float64Array(n);
    const dst = new Array<Uint8Array>(n);
    for (let i = 0, at = 0; i < n; at += sizes[i]!, i++) {
      const m = (messages[i] = slab.subarray(at, at + sizes[i]!));
      counters[i] = this.sendCounter++;
      this.writeHeader(m, counters[i]!);
      dst[i] = m.subarray(TRANSPORT_HEADER_SIZE);
    }
    sealBatch({ keys: new Array<TransportAead>(n).fill(this.sender), counters, src: packets, dst });
    return messages;
  }

  /** Decrypts a transport message's payload; undefined if the tag does not verify. */
  open(message: Buffer, counter: number): Buffer | undefined {
    const body = message.length - TRANSPORT_HEADER_SIZE - TAG_LEN;
    if (body < 0) return undefined;
    const plain = Buffer.allocUnsafe(body);
    return this.receiver.open(counter, message.subarray(TRANSPORT_HEADER_SIZE), plain) ? plain : undefined;
  }

  private writeHeader(out: Buffer, counter: number): void {
    out.writeUInt32LE(MSG_TRANSPORT, 0); // the type, then three zero bytes
    out.writeUInt32LE(this.remoteIndex, TRANSPORT_RECEIVER);
    out.writeUInt32LE(counter >>> 0, TRANSPORT_COUNTER);
    out.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), TRANSPORT_COUNTER + 4);
  }
}

/** WireGuard padding: round up to 16, but never beyond the MTU (unless the packet already is). */
export function paddedLength(length: number, mtu: number): number {
  const padded = (length + 15) & ~15;
  return padded > mtu ? Math.max(mtu, length) : padded;
}
