// A Linux TUN interface as seen by the engine: IP packets in and out, no
// packet-info header. The I/O is native (agent/native): reads are driven by
// the event loop and delivered in batches, writes are synchronous and never block.
import { checkIfName } from './ifname.js';
import { loadTunAddon, type NativeTunHandle } from './native-addon.js';
import { TunOffload } from './offload/tun-offload.js';

export interface TunOpenOptions {
  /** Interface to create, or to attach to if it is a free persistent TUN device. */
  name: string;
  mtu: number;
  /**
   * Segmentation offloads (IFF_VNET_HDR, TUNSETOFFLOAD): the kernel hands over large TCP/UDP
   * segments, cut here into MTU-sized packets, and takes joined TCP segments from queueWrite().
   * Used as far as the kernel allows; default off.
   */
  offload?: boolean;
}

/** IPv4's minimum; the kernel refuses less. (IPv6 needs 1280, but IPv4-only use is fine below.) */
export const MIN_MTU = 68;
export const MAX_MTU = 65535;

export class TunDevice {
  /** The interface name the kernel gave the device. */
  readonly name: string;
  #handle: NativeTunHandle | undefined;
  #reading = false;
  #onPackets: ((packets: Buffer[]) => void) | undefined;
  #onError: ((err: Error) => void) | undefined;
  readonly #offload: TunOffload | undefined;

  private constructor(handle: NativeTunHandle) {
    this.#handle = handle;
    this.name = handle.name;
    if (handle.vnetHdr) this.#offload = new TunOffload(handle);
  }

  /**
   * Creates the interface (or attaches to a persistent one), sets its MTU and
   * brings it up. Throws an Error saying what is wrong (permissions, missing
   * /dev/net/tun, name in use, bad name or MTU, addon not built).
   */
  static open(opts: TunOpenOptions): TunDevice {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('TunDevice.open needs { name, mtu }');
    const name = checkIfName(opts.name);
    const { mtu } = opts;
    if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
      throw new Error(`invalid MTU ${String(mtu)} for ${name}: it must be an integer from ${MIN_MTU} to ${MAX_MTU}`);
    }
    const { TunHandle } = loadTunAddon();
    return new TunDevice(new TunHandle(name, mtu, opts.offload === true));
  }

  /**
   * Sends one IP packet into the kernel. Returns false if it was dropped: the
   * device is closed, the packet is empty, too big, not IPv4/IPv6, or the
   * kernel queue is full. Never throws for a bad packet.
   */
  write(packet: Buffer): boolean {
    if (!this.#handle || !(packet instanceof Uint8Array)) return false;
    return this.#handle.write(packet);
  }

  /**
   * Sets the receiver of packets the kernel routes into the interface and
   * starts reading. Each call gets every packet of one wake-up (up to 256).
   * The Buffers of one call share memory, so keep copies if you keep many
   * small ones for long.
   */
  onPackets(cb: (packets: Buffer[]) => void): void {
    this.#onPackets = cb;
    if (this.#reading || !this.#handle) return;
    this.#reading = true;
    this.#handle.start(
      (slab, lengths) => this.#deliver(slab, lengths),
      (err) => this.#fail(err),
    );
  }

  /**
   * Sets the receiver of a read failure (e.g. the interface was deleted).
   * It is reported once and reading stops. Without a receiver the error is
   * thrown, like an unhandled 'error' event.
   */
  onError(cb: (err: Error) => void): void {
    this.#onError = cb;
  }

  /**
   * Queues a packet for flushWrites(), which joins consecutive segments of a TCP flow into one
   * write when the TUN offloads are on; without them this is write(). A forgotten flush happens
   * in a microtask, after the current callback.
   */
  queueWrite(packet: Buffer): void {
    if (!this.#handle) return;
    if (this.#offload?.canCoalesce) this.#offload.queue(packet);
    else this.#handle.write(packet);
  }

  /** Writes what queueWrite() collected. */
  flushWrites(): void {
    this.#offload?.flush();
  }

  /** The offloads in use (TUN_F_* flags; 0 without a virtio-net header) and their counters. */
  get offload(): { vnetHdr: boolean; flags: number; counters: Record<string, number> } {
    return { vnetHdr: this.#offload !== undefined, flags: this.#offload?.flags ?? 0, counters: this.#offload?.counters() ?? {} };
  }

  /** Writes that were dropped so far (see write()). */
  get droppedWrites(): number {
    return this.#handle?.droppedWrites ?? 0;
  }

  /** Stops reading and closes the fd, which removes a non-persistent interface. Idempotent. */
  close(): void {
    const handle = this.#handle;
    this.#offload?.flush();
    this.#handle = undefined;
    handle?.close();
  }

  #deliver(slab: Buffer, lengths: Uint32Array): void {
    if (this.#offload) {
      this.#onPackets?.(this.#offload.split(slab, lengths));
      return;
    }
    const packets = new Array<Buffer>(lengths.length);
    let offset = 0;
    for (let i = 0; i < lengths.length; i++) {
      const end = offset + lengths[i]!;
      packets[i] = slab.subarray(offset, end);
      offset = end;
    }
    this.#onPackets?.(packets);
  }

  #fail(err: Error): void {
    if (!this.#onError) throw err;
    this.#onError(err);
  }
}
