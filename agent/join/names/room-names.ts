// Names for the agent: the DNS service on our room address (bound once the tunnel has the
// address, bound again when it moves) and the system resolver told about DOMAIN.
import type { Logger } from '../../../shared/log.js';
import { DNS_PORT, type DnsListener, type DnsPort } from './dns-port.js';
import { DnsService } from './dns-service.js';
import type { NamedMember, NameTable } from './name-table.js';
import { configureResolver, type DnsConfigMode, type ResolverSetup } from './resolver-config.js';

export interface NamesOptions {
  domain: string;
  /** How the system resolver learns DOMAIN; undefined leaves it alone (tests). */
  config?: { mode: DnsConfigMode; stateDir: string; ifname: string };
  /** The port to listen on (tests; default 53). */
  port?: number;
}

export interface RoomNamesContext {
  dns: DnsPort;
  members(): NamedMember[];
  now(): number;
  count(what: string): void;
  log: Logger;
}

export class RoomNames {
  readonly service: DnsService;
  private listener: DnsListener | undefined;
  private resolver: ResolverSetup | undefined;
  private address: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly o: NamesOptions,
    private readonly c: RoomNamesContext,
  ) {
    this.service = new DnsService({ domain: o.domain, members: c.members, now: c.now, count: c.count });
  }

  get names(): NameTable {
    return this.service.names();
  }

  /** Serves on `address` (again, when it moved); one rebinding at a time. */
  listen(address: string): Promise<void> {
    this.queue = this.queue.then(() => this.bind(address));
    return this.queue;
  }

  private async bind(address: string): Promise<void> {
    if (this.closed || address === this.address) return;
    this.listener?.close();
    this.listener = undefined;
    this.address = address;
    const port = this.o.port ?? DNS_PORT;
    try {
      this.listener = await this.c.dns.listen(address, port, { udp: (d, from) => this.service.query(d, from), tcp: (from) => this.service.tcpSession(from) });
      this.c.log.info('answering DNS for the room', { domain: this.o.domain, address, port });
    } catch (e) {
      this.c.count('dns_bind_errors');
      this.c.log.warn('cannot serve DNS on our room address', { address, port, error: (e as Error).message, code: 'dns_bind' });
      return;
    }
    if (this.closed) return this.listener.close();
    await this.configureResolver(address);
  }

  private async configureResolver(address: string): Promise<void> {
    const cfg = this.o.config;
    if (!cfg) return;
    this.resolver?.undo();
    try {
      this.resolver = await configureResolver({ mode: cfg.mode, ifname: cfg.ifname, address, domain: this.o.domain, stateDir: cfg.stateDir, log: this.c.log });
      if (this.resolver) this.c.log.info('the system resolver sends room names here', { method: this.resolver.method, domain: this.o.domain });
    } catch (e) {
      this.c.count('dns_config_errors');
      this.c.log.warn('could not configure the system resolver', { mode: cfg.mode, error: (e as Error).message, code: 'dns_config' });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listener?.close();
    this.resolver?.undo();
  }
}
