// DATA datagrams on the relay's hot path (agents sending and receiving relayed packets, the
// server and bounces forwarding them) without a buffer allocation or an id re-encoding per packet:
// the header for an id is built once, frames are carved out of a shared arena, a forwarded frame
// gets its new header written in place in front of its payload where it fits, and the id of a
// run of datagrams from one sender is read as a string once. Wire format: relay.ts.
import { isMemberId } from '../signal/fields.js';
import { DATA_ID_OFFSET, encodeData } from './relay.js';

const EMPTY = Buffer.alloc(0);

/** Frames are carved from arenas of this size; a new one replaces a full one. */
export const DATA_ARENA_BYTES = 256 * 1024;
/** Headers kept for this many ids at most (a room's members; the server's connected members). */
const MAX_HEADERS = 4096;

/** DATA headers (magic, type, idLen, id), built once per member id. */
export class DataHeaders {
  private readonly byId = new Map<string, Buffer>();

  /** Throws for something that is not a member id (as encodeData does). */
  get(id: string): Buffer {
    let h = this.byId.get(id);
    if (h) return h;
    h = encodeData(id, EMPTY); // a DATA with no payload is exactly the header
    if (this.byId.size >= MAX_HEADERS) this.byId.clear(); // rebuilt on demand
    this.byId.set(id, h);
    return h;
  }
}

/**
 * Frames (a header then a payload) carved out of an arena. A frame's bytes are never written
 * again: a full arena is replaced, not reused, so a frame queued on a socket stays intact until
 * sent, and the old arena is freed once its last frame is.
 */
export class DataFramer {
  private arena = Buffer.allocUnsafeSlow(DATA_ARENA_BYTES);
  private used = 0;

  frame(header: Uint8Array, payload: Uint8Array): Buffer {
    const n = header.length + payload.length;
    if (n > DATA_ARENA_BYTES) return Buffer.concat([header, payload]);
    if (this.used + n > DATA_ARENA_BYTES) {
      this.arena = Buffer.allocUnsafeSlow(DATA_ARENA_BYTES);
      this.used = 0;
    }
    const b = this.arena.subarray(this.used, this.used + n);
    b.set(header, 0);
    b.set(payload, header.length);
    this.used += n;
    return b;
  }
}

/**
 * `d` (a DATA datagram whose payload starts at `payloadOffset`) with `header` written over the
 * bytes just in front of the payload: the forwarded frame, in place. Undefined when the new
 * header is longer than the old one (the caller copies instead). Overwrites `d`'s header.
 */
export function reframeInPlace(d: Buffer, payloadOffset: number, header: Uint8Array): Buffer | undefined {
  const start = payloadOffset - header.length;
  if (start < 0) return undefined;
  d.set(header, start);
  return d.subarray(start);
}

/**
 * Reads the id of DATA datagrams: a run of datagrams from one sender carries the same id, which
 * is then compared, not decoded and validated again. Undefined for an id that is not a member id.
 */
export class DataIdReader {
  private lastBytes: Buffer = Buffer.alloc(0);
  private lastId = '';

  /** The id of DATA datagram `d` whose payload starts at `payloadOffset` (dataPayloadOffset). */
  read(d: Buffer, payloadOffset: number): string | undefined {
    const n = payloadOffset - DATA_ID_OFFSET;
    if (n === this.lastBytes.length && d.compare(this.lastBytes, 0, n, DATA_ID_OFFSET, payloadOffset) === 0) return this.lastId;
    const id = d.toString('latin1', DATA_ID_OFFSET, payloadOffset);
    if (!isMemberId(id)) return undefined;
    this.lastBytes = Buffer.from(d.subarray(DATA_ID_OFFSET, payloadOffset));
    this.lastId = id;
    return id;
  }
}
