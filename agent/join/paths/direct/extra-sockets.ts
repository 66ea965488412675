// Extra UDP sockets next to the WireGuard socket, for birthday punching (birthday.ts): each talks
// to one remote endpoint only. The engine knows peers by endpoint alone, so each socket gets a
// virtual endpoint of its own ("remote R through extra socket K"), in 100::/64 like the relayed
// paths' (relay-endpoint.ts) but on port 2: what the engine or path finding sends there leaves
// from socket K to R, and what socket K receives from R enters as coming from there. The
// WireGuard session moves onto a socket by roaming to its endpoint, with no new handshake, and
// the engine stays pure (it never learns that sockets exist).
import { formatEndpoint, makeEndpoint, sameEndpoint, type Endpoint } from '../../../../shared/net/address.js';
import type { ExtraSocket, TunnelPort } from '../../ports.js';
import { SlotCounter } from '../slots.js';

const PREFIX = '100::b1d:0:';
const VIRTUAL_PORT = 2;
/** Extra sockets open at once, all pairs together (each birthday attempt opens up to 256). */
export const MAX_EXTRA_SOCKETS = 1024;

/** The virtual endpoint of extra socket `id` (1..65535). */
export function socketEndpoint(id: number): Endpoint {
  return makeEndpoint(`${PREFIX}${id.toString(16)}`, VIRTUAL_PORT);
}

export function isSocketEndpoint(e: Endpoint): boolean {
  return e.port === VIRTUAL_PORT && e.family === 6 && e.address.startsWith(PREFIX);
}

function socketId(e: Endpoint): number | undefined {
  if (!isSocketEndpoint(e)) return undefined;
  const id = parseInt(e.address.slice(PREFIX.length), 16);
  return Number.isInteger(id) && id > 0 && id <= 0xffff ? id : undefined;
}

interface Open {
  id: number;
  socket: ExtraSocket;
  remote: Endpoint;
  virtual: Endpoint;
}

export interface ExtraSocketsContext {
  open: NonNullable<TunnelPort['openSocket']>;
  /** A datagram from a socket's remote, as if from its virtual endpoint (STUN/disco/relay first, then the engine). */
  deliver(data: Buffer, from: Endpoint): void;
  count(what: string): void;
}

export class ExtraSockets {
  private readonly byId = new Map<number, Open>();
  private readonly slots = new SlotCounter();
  private pending = 0;

  constructor(private readonly c: ExtraSocketsContext) {}

  get size(): number {
    return this.byId.size;
  }

  /** Opens up to `count` sockets toward `remote`; resolves with their virtual endpoints (fewer if the cap or the system says no). */
  async openMany(count: number, remote: Endpoint): Promise<Endpoint[]> {
    const n = Math.max(0, Math.min(count, MAX_EXTRA_SOCKETS - this.byId.size - this.pending));
    this.pending += n;
    const settled = await Promise.allSettled(Array.from({ length: n }, () => this.openOne(remote)));
    this.pending -= n;
    const out: Endpoint[] = [];
    for (const s of settled) {
      if (s.status === 'fulfilled') out.push(s.value);
      else this.c.count('extra_socket_failed');
    }
    return out;
  }

  private async openOne(remote: Endpoint): Promise<Endpoint> {
    const id = this.slots.take(this.byId);
    const virtual = socketEndpoint(id);
    // Reserved before the await, so two opens never share an id.
    const entry: Open = { id, socket: undefined as unknown as ExtraSocket, remote, virtual };
    this.byId.set(id, entry);
    try {
      entry.socket = await this.c.open((data, from) => {
        // Each socket talks to its remote only: anything else is a stranger guessing ports.
        if (!sameEndpoint(from, remote)) return this.c.count('extra_socket_stranger');
        this.c.deliver(data, virtual);
      });
    } catch (e) {
      this.byId.delete(id);
      throw e;
    }
    if (this.byId.get(id) !== entry) entry.socket.close(); // closed while opening
    return virtual;
  }

  /** Sends `data` for a virtual endpoint through its socket; false when `to` is not one (the caller sends it). */
  send(data: Buffer, to: Endpoint): boolean {
    const id = socketId(to);
    if (id === undefined) return false;
    const s = this.byId.get(id);
    if (s?.socket) s.socket.send(data, s.remote);
    else this.c.count('extra_socket_send_dropped');
    return true;
  }

  /** The real remote and local port behind a virtual endpoint, for status. */
  describe(e: Endpoint): string | undefined {
    const id = socketId(e);
    const s = id === undefined ? undefined : this.byId.get(id);
    return s?.socket ? `${formatEndpoint(s.remote)} (from extra socket, port ${s.socket.port})` : undefined;
  }

  close(virtual: Endpoint): void {
    const id = socketId(virtual);
    const s = id === undefined ? undefined : this.byId.get(id);
    if (!s) return;
    this.byId.delete(s.id);
    s.socket?.close();
  }

  closeAll(): void {
    for (const s of this.byId.values()) s.socket?.close();
    this.byId.clear();
  }
}
