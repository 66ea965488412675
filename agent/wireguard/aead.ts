// The transport messages' AEAD (ChaCha20-Poly1305, nonce = counter, no associated data) behind
// one small interface, so the engine does not care which implementation runs:
//  - native (agent/native/src/aead_key.h): one OpenSSL context per key, keyed once; each packet
//    only sets its nonce, and a batch of packets is one call into the addon;
//  - node:crypto: createCipheriv per packet (a fresh context keyed every time), used when the
//    addon is not built or does not load, or with WGP2P_NO_NATIVE_AEAD=1.
// Counters, the replay window and the choice of keypair stay in the engine; this only seals and
// opens what it is given.
import { createCipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { loadTunAddon } from '../tun/native-addon.js';
import { TAG_LEN } from './constants.js';
import { open, writeNonce, type Bytes } from './crypto.js';

export const NO_NATIVE_AEAD_ENV = 'WGP2P_NO_NATIVE_AEAD';

export interface TransportAead {
  /** Seals `src`, zero-padded to `dst.length - TAG_LEN`, into `dst` (tag last). */
  seal(counter: number, src: Uint8Array, dst: Uint8Array): void;
  /** Opens `src` (ciphertext, then tag) into `dst` (`src.length - TAG_LEN` bytes); false if it does not verify. */
  open(counter: number, src: Uint8Array, dst: Uint8Array): boolean;
  /** Forgets the key (the native context is freed, which wipes it). Later opens fail. */
  destroy(): void;
}

/** A batch of seals or opens, item i with keys[i] and counters[i], in order; keys may differ. */
export interface AeadBatch {
  keys: TransportAead[];
  counters: Float64Array;
  src: Uint8Array[];
  dst: Uint8Array[];
}

interface NativeAeadKey {
  seal(counter: number, src: Uint8Array, dst: Uint8Array): boolean;
  open(counter: number, src: Uint8Array, dst: Uint8Array): boolean;
  destroy(): void;
}

interface NativeAead {
  AeadKey: new (key: Uint8Array, encrypt: boolean) => NativeAeadKey;
  sealBatch(keys: NativeAeadKey[], counters: Float64Array, src: Uint8Array[], dst: Uint8Array[]): Uint8Array;
  openBatch(keys: NativeAeadKey[], counters: Float64Array, src: Uint8Array[], dst: Uint8Array[]): Uint8Array;
}

class NativeKey implements TransportAead {
  constructor(
    readonly addon: NativeAead,
    readonly handle: NativeAeadKey,
  ) {}
  seal(counter: number, src: Uint8Array, dst: Uint8Array): void {
    if (!this.handle.seal(counter, src, dst)) throw new Error('sealing failed (destroyed key or bad lengths)');
  }
  open(counter: number, src: Uint8Array, dst: Uint8Array): boolean {
    return this.handle.open(counter, src, dst);
  }
  destroy(): void {
    this.handle.destroy();
  }
}

const ZEROS = Buffer.alloc(16);

class NodeKey implements TransportAead {
  private key: KeyObject | undefined;
  private readonly nonce = Buffer.alloc(12);
  constructor(raw: Bytes) {
    this.key = createSecretKey(raw);
  }
  seal(counter: number, src: Uint8Array, dst: Uint8Array): void {
    if (!this.key) throw new Error('sealing failed (destroyed key)');
    const body = dst.length - TAG_LEN;
    const c = createCipheriv('chacha20-poly1305', this.key, writeNonce(this.nonce, counter), { authTagLength: TAG_LEN });
    let n = src.length > 0 ? place(c.update(src), dst, 0) : 0;
    for (let pad = body - src.length; pad > 0; pad -= ZEROS.length) n += place(c.update(ZEROS.subarray(0, Math.min(pad, ZEROS.length))), dst, n);
    n += place(c.final(), dst, n);
    place(c.getAuthTag(), dst, n);
  }
  open(counter: number, src: Uint8Array, dst: Uint8Array): boolean {
    if (!this.key || dst.length !== src.length - TAG_LEN) return false;
    const p = open(this.key, counter, src, undefined, this.nonce);
    if (!p) return false;
    dst.set(p);
    return true;
  }
  destroy(): void {
    this.key = undefined; // a KeyObject cannot be wiped; it only becomes unreachable
  }
}

function place(b: Buffer, dst: Uint8Array, at: number): number {
  dst.set(b, at);
  return b.length;
}

let backend: NativeAead | null | undefined;

/** The native implementation, or null when switched off or not loadable (decided once). */
function nativeAead(): NativeAead | null {
  if (backend !== undefined) return backend;
  backend = null;
  if (process.env[NO_NATIVE_AEAD_ENV] === '1') return backend;
  try {
    const addon = loadTunAddon() as unknown as Partial<NativeAead>;
    if (typeof addon.AeadKey === 'function') backend = addon as NativeAead;
  } catch {
    // not built, or not Linux: node:crypto it is
  }
  return backend;
}

export type AeadImplementation = 'native' | 'node:crypto';

/** Which implementation new keys get by default. */
export function aeadImplementation(): AeadImplementation {
  return nativeAead() ? 'native' : 'node:crypto';
}

/** A key for sealing (`encrypt`) or for opening; the caller still owns and wipes `raw`. */
export function transportKey(raw: Bytes, encrypt: boolean, impl = aeadImplementation()): TransportAead {
  const n = impl === 'native' ? nativeAead() : null;
  if (impl === 'native' && !n) throw new Error('the native AEAD is not available');
  return n ? new NativeKey(n, new n.AeadKey(raw, encrypt)) : new NodeKey(raw);
}

/** Seals every item; one call into the addon when all keys are native. */
export function sealBatch(b: AeadBatch): void {
  const native = nativeHandles(b.keys);
  if (native) {
    const ok = native.addon.sealBatch(native.handles, b.counters, b.src, b.dst);
    if (ok.includes(0)) throw new Error('sealing failed (destroyed key or bad lengths)');
    return;
  }
  for (let i = 0; i < b.keys.length; i++) b.keys[i]!.seal(b.counters[i]!, b.src[i]!, b.dst[i]!);
}

/** Opens every item; result[i] is 1 when item i verified (its dst then holds the plaintext). */
export function openBatch(b: AeadBatch): Uint8Array {
  const native = nativeHandles(b.keys);
  if (native) return native.addon.openBatch(native.handles, b.counters, b.src, b.dst);
  const ok = new Uint8Array(b.keys.length);
  for (let i = 0; i < b.keys.length; i++) ok[i] = b.keys[i]!.open(b.counters[i]!, b.src[i]!, b.dst[i]!) ? 1 : 0;
  return ok;
}

/** The addon and its handles when every key is native (and there is anything to do). */
function nativeHandles(keys: TransportAead[]): { addon: NativeAead; handles: NativeAeadKey[] } | undefined {
  const first = keys[0];
  if (!(first instanceof NativeKey)) return undefined;
  const handles: NativeAeadKey[] = [];
  for (const k of keys) {
    if (!(k instanceof NativeKey)) return undefined;
    handles.push(k.handle);
  }
  return { addon: first.addon, handles };
}
