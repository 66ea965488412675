// A transport session (one handshake's pair of keys) and the per-peer slots it moves through:
// next (responder, unconfirmed) → current → previous.
import { createCipheriv, type KeyObject } from 'node:crypto';
import { MSG_TRANSPORT, TRANSPORT_COUNTER, TRANSPORT_HEADER_SIZE, TRANSPORT_RECEIVER } from '../../shared/wire/wireguard.js';
import { TAG_LEN } from './constants.js';
import { aeadKey, open, writeNonce } from './crypto.js';
import type { SessionKeys } from './noise.js';
import { ReplayWindow } from './replay-window.js';

const ZEROS = Buffer.alloc(16);

export class Keypair {
  readonly sendKey: KeyObject;
  readonly receiveKey: KeyObject;
  private readonly rawKeys: Buffer[];
  /** Next counter to send with; a Number is exact far beyond any reachable count. */
  sendCounter = 0;
  readonly replay = new ReplayWindow();
  private readonly nonce = Buffer.alloc(12);

  constructor(
    keys: SessionKeys,
    readonly isInitiator: boolean,
    readonly localIndex: number,
    readonly remoteIndex: number,
    readonly createdAt: number,
  ) {
    this.sendKey = aeadKey(keys.send);
    this.receiveKey = aeadKey(keys.receive);
    this.rawKeys = [keys.send, keys.receive];
  }

  /** Overwrites the raw key bytes we hold (the KeyObjects become unreachable with us). */
  wipe(): void {
    for (const k of this.rawKeys) k.fill(0);
  }

  /**
   * Builds a transport message for `packet`, zero-padded to `paddedLength` (≥ packet length).
   * Consumes one counter value.
   */
  seal(packet: Uint8Array, paddedLength: number): Buffer {
    const counter = this.sendCounter++;
    const out = Buffer.allocUnsafe(TRANSPORT_HEADER_SIZE + paddedLength + TAG_LEN);
    out.writeUInt32LE(MSG_TRANSPORT, 0); // the type, then three zero bytes
    out.writeUInt32LE(this.remoteIndex, TRANSPORT_RECEIVER);
    out.writeUInt32LE(counter >>> 0, TRANSPORT_COUNTER);
    out.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), TRANSPORT_COUNTER + 4);
    const c = createCipheriv('chacha20-poly1305', this.sendKey, writeNonce(this.nonce, counter), { authTagLength: TAG_LEN });
    let n = TRANSPORT_HEADER_SIZE;
    if (packet.length > 0) n += c.update(packet).copy(out, n);
    const pad = paddedLength - packet.length;
    if (pad > 0) n += c.update(ZEROS.subarray(0, pad)).copy(out, n);
    n += c.final().copy(out, n);
    c.getAuthTag().copy(out, n);
    return out;
  }

  /** Decrypts a transport message's payload; undefined if the tag does not verify. */
  open(message: Buffer, counter: number): Buffer | undefined {
    return open(this.receiveKey, counter, message.subarray(TRANSPORT_HEADER_SIZE), undefined, this.nonce);
  }
}

/** WireGuard padding: round up to 16, but never beyond the MTU (unless the packet already is). */
export function paddedLength(length: number, mtu: number): number {
  const padded = (length + 15) & ~15;
  return padded > mtu ? Math.max(mtu, length) : padded;
}
