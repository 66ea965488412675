// What the PortMapper needs from each protocol (PCP, NAT-PMP, UPnP IGD): map one UDP port,
// delete that mapping, and tell whether the gateway speaks the protocol at all.
import type { Clock, HttpTransport, PortMapping, PortmapProtocol, RejectSink, UdpEndpoint, UdpTransport } from './types.js';

export interface ClientContext {
  /** The default gateway: the only address whose answers count. */
  readonly gateway: string;
  readonly udp: UdpTransport;
  readonly http: HttpTransport;
  readonly clock: Clock;
  readonly onReject: RejectSink;
  /** Local port of the PCP/NAT-PMP/SSDP request sockets (default: a fresh one each time). */
  readonly requestPort?: number;
}

export interface MapRequest {
  /** The port the agent's WireGuard socket is bound to. */
  readonly internalPort: number;
  readonly lifetimeS: number;
  /** The mapping being renewed, whose external port we ask for again. */
  readonly previous?: PortMapping;
}

export interface MapResult {
  readonly mapping: PortMapping;
  /** The server's epoch (PCP, NAT-PMP), to notice a gateway that lost its state. */
  readonly epoch?: number;
}

export interface ProtocolClient {
  readonly protocol: PortmapProtocol;
  /** Resolves the granted mapping; rejects with a PortmapError. */
  map(req: MapRequest, signal: AbortSignal): Promise<MapResult>;
  /** Deletes the mapping (best effort: rejects with a PortmapError on failure). */
  unmap(mapping: PortMapping, signal: AbortSignal): Promise<void>;
  /** True when the gateway answers this protocol (for netcheck); never rejects. */
  probe(signal: AbortSignal): Promise<boolean>;
}

/** Runs `fn` with a socket from `ctx.udp`, closing it afterwards whatever happens. */
export async function withSocket<T>(ctx: ClientContext, fn: (socket: UdpEndpoint) => Promise<T>): Promise<T> {
  const socket = await ctx.udp.open(ctx.requestPort === undefined ? {} : { localPort: ctx.requestPort });
  try {
    return await fn(socket);
  } finally {
    socket.close();
  }
}

/** Lifetimes beyond this are treated as this (a day): renewal timers stay sane. */
export const MAX_HONOURED_LIFETIME_S = 86_400;

/** What a gateway granted, as a mapping; a lifetime beyond a day is not believed (renewals keep it). */
export function grantedMapping(protocol: PortMapping['protocol'], granted: { externalAddress: string; externalPort: number; lifetimeS: number }, internalPort: number): PortMapping {
  return { protocol, externalAddress: granted.externalAddress, externalPort: granted.externalPort, internalPort, lifetimeS: Math.min(granted.lifetimeS, MAX_HONOURED_LIFETIME_S) };
}
