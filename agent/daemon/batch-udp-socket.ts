// The engine's UDP socket through the native addon (agent/native/src/udp_*): a wake-up drains the
// socket with recvmmsg into one JS call, and queued datagrams leave in one sendmmsg, where
// node:dgram pays a syscall and a JS round trip for every datagram. This socket lives in our
// addon: recvmmsg per wake-up, and sendmmsg for what one wake-up queued (measured: ~17–20 % less
// CPU per packet through the tunnel than node:dgram, README "Design notes").
import type { Endpoint } from '../../shared/net/address.js';
import { loadTunAddon } from '../tun/native-addon.js';
import { MicrotaskFlush } from '../../shared/microtask-flush.js';
import { offloadSwitches } from './offload-switches.js';

/** The native handle (agent/native/src/udp_socket.h). */
interface NativeUdpSocket {
  readonly port: number;
  readonly dualStack: boolean;
  readonly droppedSends: number;
  readonly droppedReceives: number;
  /** UDP_SEGMENT in use (false once the kernel refused it). */
  readonly gso: boolean;
  /** UDP_GRO on. */
  readonly gro: boolean;
  /** Sends that carried a run of datagrams (GSO), and receives that held one (GRO). */
  readonly gsoSends: number;
  readonly groReceives: number;
  send(data: Uint8Array, address: string, port: number): boolean;
  /** Sends data[i] to addresses[i]:ports[i] for every i; returns how many the kernel took. */
  sendBatch(data: Uint8Array[], addresses: string[], ports: number[]): number;
  /** One call per wake-up: the datagrams back to back in `slab`, and who sent each. */
  start(onBatch: (slab: Buffer, lengths: Uint32Array, addresses: string[], ports: Uint32Array) => void, onError: (err: Error) => void): void;
  close(): void;
  /** SO_MARK on what we send (0 clears it); throws with .code (EPERM without CAP_NET_ADMIN). */
  setMark(mark: number): void;
  /** Test-only: present when the addon was loaded with WGP2P_TEST_HOOKS=1. */
  injectPollError?(errno: number): void;
  /** Test-only: makes the kernel refuse every GSO send from now on. */
  refuseGso?(): void;
}

/** The environment switch that gives the addon its test-only methods (read once, at load). */
export const TEST_HOOKS_ENV = 'WGP2P_TEST_HOOKS';

// The UDP socket lives in the TUN addon (one native module to build and load).
type UdpAddon = { UdpSocket?: new (port: number, options?: UdpOffloads & { host?: string }) => NativeUdpSocket };

/** Which UDP offloads to use where the kernel has them (default: the environment's switches). */
export interface UdpOffloads {
  gso?: boolean;
  gro?: boolean;
  /** Bind this address only (IPv4 or IPv6 text) instead of every address. */
  host?: string;
}

export interface BatchItem {
  data: Buffer;
  to: Endpoint;
}

export class BatchUdpSocket {
  #handle: NativeUdpSocket | undefined;
  readonly port: number;
  readonly dualStack: boolean;
  // The send queue as parallel arrays, the shape the native call reads; reused between flushes.
  #data: Uint8Array[] = [];
  #addresses: string[] = [];
  #ports: number[] = [];
  readonly #pending = new MicrotaskFlush(() => this.flush());
  #failure: Error | undefined;

  private constructor(handle: NativeUdpSocket) {
    this.#handle = handle;
    this.port = handle.port;
    this.dualStack = handle.dualStack;
  }

  /**
   * Binds to `port` (0: any) on every address (or `offloads.host` only), dual-stack when the host has IPv6. `onMessage`
   * sees each datagram; `onBatchEnd`, if given, runs after the last one of a wake-up. `onError`
   * hears once that receiving failed (a poll or fatal read error, Error with .code): the socket
   * then stays deaf but open (sends still work) until closed. Without it the error is thrown,
   * like an unhandled 'error' event.
   */
  static async bind(
    port: number,
    onMessage: (data: Buffer, from: Endpoint) => void,
    onBatchEnd?: () => void,
    onError?: (err: Error) => void,
    offloads?: UdpOffloads,
  ): Promise<BatchUdpSocket> {
    const Native = (loadTunAddon() as UdpAddon).UdpSocket;
    if (!Native) throw new Error('the native addon has no UdpSocket: rebuild it with npm run build:native');
    let handle: NativeUdpSocket;
    try {
      const sw = offloadSwitches();
      handle = new Native(port, { gso: offloads?.gso ?? sw.udpGso, gro: offloads?.gro ?? sw.udpGro, ...(offloads?.host !== undefined && { host: offloads.host }) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw portInUse(port);
      throw e;
    }
    const sock = new BatchUdpSocket(handle);
    handle.start(
      (slab, lengths, addresses, ports) => {
        deliver(slab, lengths, addresses, ports, onMessage);
        onBatchEnd?.();
      },
      (err) => {
        sock.#failure = err;
        if (!onError) throw err;
        onError(err);
      },
    );
    return sock;
  }

  /** UDP GSO in use: runs of equal-size datagrams to one peer leave as one send. */
  get gso(): boolean {
    return this.#handle?.gso ?? false;
  }

  /** UDP GRO on: the kernel may hand over a run of datagrams at once (split before onMessage). */
  get gro(): boolean {
    return this.#handle?.gro ?? false;
  }

  /** Sends that carried a run of datagrams (GSO) and receives that held one (GRO), so far. */
  get offloadCounts(): { gsoSends: number; groReceives: number } {
    return { gsoSends: this.#handle?.gsoSends ?? 0, groReceives: this.#handle?.groReceives ?? 0 };
  }

  /** Test-only: the kernel refuses every GSO send from now on (needs WGP2P_TEST_HOOKS=1). */
  refuseGso(): void {
    if (!this.#handle?.refuseGso) throw new Error(`test hooks are off: set ${TEST_HOOKS_ENV}=1 before the addon loads`);
    this.#handle.refuseGso();
  }

  /** Why receiving stopped, if it did (what onError was told). */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * Test-only: the next event-loop turn reports poll error `errno` as libuv would. Throws unless
   * the addon was loaded with WGP2P_TEST_HOOKS=1.
   */
  injectPollError(errno: number): void {
    if (!this.#handle) throw new Error('the UDP socket is closed');
    if (!this.#handle.injectPollError) throw new Error(`test hooks are off: set ${TEST_HOOKS_ENV}=1 before the addon loads`);
    this.#handle.injectPollError(errno);
  }

  /** Sends one datagram now. Never throws: after close() or with a full buffer it is dropped. */
  send(data: Buffer, to: Endpoint): void {
    this.#handle?.send(data, to.address, to.port);
  }

  /** Sends every item with one sendmmsg (more only beyond 1024 items). */
  sendBatch(items: readonly BatchItem[]): void {
    for (const { data, to } of items) this.enqueue(data, to);
    this.flush();
  }

  /**
   * Queues a datagram for the next flush(): explicit, or in a microtask at the latest, so a caller
   * that forgets to flush only delays datagrams until the current callback has returned.
   */
  enqueue(data: Buffer, to: Endpoint): void {
    if (!this.#handle) return;
    this.#data.push(data);
    this.#addresses.push(to.address);
    this.#ports.push(to.port);
    this.#pending.request();
  }

  /** Sends what enqueue() collected. */
  flush(): void {
    this.#pending.flushing();
    if (this.#data.length === 0) return;
    this.#handle?.sendBatch(this.#data, this.#addresses, this.#ports);
    this.#data.length = 0;
    this.#addresses.length = 0;
    this.#ports.length = 0;
  }

  /** Marks every datagram we send with `mark` (wg's fwmark, for policy routing); 0 clears it. */
  setMark(mark: number): void {
    if (!this.#handle) throw new Error('the UDP socket is closed');
    this.#handle.setMark(mark);
  }

  /** Datagrams the kernel did not take (full buffer, unreachable, oversized) or sent after close. */
  get droppedSends(): number {
    return this.#handle?.droppedSends ?? 0;
  }

  /** Stops receiving and closes the socket. Idempotent; later sends are dropped silently. */
  close(): void {
    const handle = this.#handle;
    this.#handle = undefined;
    this.#data.length = 0;
    this.#addresses.length = 0;
    this.#ports.length = 0;
    handle?.close();
  }
}

function deliver(slab: Buffer, lengths: Uint32Array, addresses: string[], ports: Uint32Array, onMessage: (data: Buffer, from: Endpoint) => void): void {
  let offset = 0;
  let from: Endpoint | undefined;
  for (let i = 0; i < lengths.length; i++) {
    const end = offset + lengths[i]!;
    const address = addresses[i]!;
    const port = ports[i]!;
    // The native side already unmapped ::ffff:v4 and reuses one string per sender, so one
    // Endpoint object serves a run of datagrams from the same peer.
    if (!from || from.address !== address || from.port !== port) from = { address, port, family: address.indexOf(':') < 0 ? 4 : 6 };
    onMessage(slab.subarray(offset, end), from);
    offset = end;
  }
}

function portInUse(port: number): Error {
  return Object.assign(new Error(`UDP port ${port} is already in use (another WireGuard or wgp2p running?)`), { code: 'EADDRINUSE' });
}
