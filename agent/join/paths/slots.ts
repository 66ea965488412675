// 16-bit numbers for virtual endpoints (relay links, relayed members, extra sockets): handed out
// in turn and wrapping around, skipping those still held, so a number is never reused while its
// holder lives and a freed one is not reused at once.

/** The largest slot: virtual endpoints carry it in 16 bits. */
export const MAX_SLOT = 0xffff;

export class SlotCounter {
  private next = 1;

  /** The next slot `held` does not claim (the caller holds fewer than MAX_SLOT at once). */
  take(held: { has(slot: number): boolean }): number {
    for (;;) {
      const slot = this.next;
      this.next = slot >= MAX_SLOT ? 1 : slot + 1;
      if (!held.has(slot)) return slot;
    }
  }
}
