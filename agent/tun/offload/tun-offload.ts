// The TUN device's side of the segmentation offloads: reads (virtio-net header + packet) cut into
// the packets the engine seals, and queued writes joined per TCP flow (GRO-style) before they
// reach the kernel. Keeps the counters of what it did and what it dropped.
import { MicrotaskFlush } from '../../../shared/microtask-flush.js';
import { coalesce } from './coalesce.js';
import { segmentRead } from './segment.js';

/** TUN_F_* from linux/if_tun.h: what TUNSETOFFLOAD accepted. */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_USO4 = 0x20;
export const TUN_F_USO6 = 0x40;

/** The native calls this needs (agent/native/src/tun_handle.h). */
export interface OffloadWriter {
  readonly offloadFlags: number;
  write(packet: Uint8Array): boolean;
  writeWithHeader(data: Uint8Array): boolean;
}

export class TunOffload {
  readonly flags: number;
  /** TSO accepted: the kernel takes large TCP segments, so joining them is worth it. */
  readonly canCoalesce: boolean;
  #queued: Buffer[] = [];
  readonly #pending = new MicrotaskFlush(() => this.flush());
  readonly #counts = new Map<string, number>();

  constructor(private readonly writer: OffloadWriter) {
    this.flags = writer.offloadFlags;
    this.canCoalesce = (this.flags & (TUN_F_TSO4 | TUN_F_TSO6)) !== 0;
  }

  /** One wake-up's reads (back to back in `slab`) as IP packets; bad reads dropped and counted. */
  split(slab: Buffer, lengths: Uint32Array): Buffer[] {
    const packets: Buffer[] = [];
    let offset = 0;
    for (let i = 0; i < lengths.length; i++) {
      const end = offset + lengths[i]!;
      const before = packets.length;
      const drop = segmentRead(slab.subarray(offset, end), packets);
      if (drop) this.#count(`rx_${drop}`);
      else if (packets.length - before > 1) this.#count('rx_segmented_reads');
      offset = end;
    }
    return packets;
  }

  queue(packet: Buffer): void {
    this.#queued.push(packet);
    this.#pending.request();
  }

  flush(): void {
    this.#pending.flushing();
    if (this.#queued.length === 0) return;
    const packets = this.#queued;
    this.#queued = [];
    for (const w of coalesce(packets)) {
      if (w.hasHeader) {
        this.#count('tx_coalesced_writes');
        this.writer.writeWithHeader(w.data);
      } else {
        this.writer.write(w.data);
      }
    }
  }

  counters(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  #count(what: string): void {
    this.#counts.set(what, (this.#counts.get(what) ?? 0) + 1);
  }
}
