// The DNS sockets as a port: the agent asks for UDP and TCP port 53 on its room address and
// hands over what to do with queries. dns-sockets.ts has the real ones; tests use an in-memory one.
import type { TcpSession } from './dns-service.js';

export const DNS_PORT = 53;

export interface DnsHandlers {
  /** One UDP query from `source` (an address): the response, if any. */
  udp(data: Buffer, source: string): Buffer | undefined;
  /** A new TCP connection from `source`. */
  tcp(source: string): TcpSession;
}

export interface DnsListener {
  close(): void;
}

export interface DnsPort {
  listen(address: string, port: number, handlers: DnsHandlers): Promise<DnsListener>;
}
