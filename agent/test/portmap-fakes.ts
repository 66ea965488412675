// Test doubles for agent/portmap: a virtual clock, and a fake LAN whose gateway speaks PCP,
// NAT-PMP and UPnP (each switchable to ok / silent / unsupported) and on which other devices
// can inject datagrams. Not a test file itself (no .test.ts).
import type { Clock, HttpRequest, HttpResponse, HttpTransport, Remote, Timer, UdpEndpoint, UdpTransport } from '../portmap/types.js';

export const GATEWAY = '192.168.1.1';
export const HOST = '192.168.1.20';

/** Virtual time: timers run only inside advance(), in order, with async work settled between. */
export class FakeClock implements Clock {
  #now = 0;
  #timers: Array<{ at: number; seq: number; fn: () => void; cancelled: boolean }> = [];
  #seq = 0;
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const e = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(e);
    return { cancel: () => { e.cancelled = true; } };
  }
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settle();
      const due = this.#timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.#timers.splice(this.#timers.indexOf(due), 1);
      this.#now = due.at;
      due.fn();
    }
    this.#now = end;
    await settle();
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

export type Mode = 'ok' | 'silent' | 'unsupported';

export interface Sent {
  readonly data: Uint8Array;
  readonly to: Remote;
  readonly localPort: number;
  readonly at: number;
}

/** The gateway's behaviour, changeable during a test. */
export interface GatewayState {
  pcp: Mode;
  natpmp: Mode;
  upnp: Mode;
  externalAddress: string;
  externalPort: number;
  /** Granted lifetime (default: what was asked). */
  grantS?: number;
  epoch: number;
}

export class FakeLan implements UdpTransport, HttpTransport {
  readonly sent: Sent[] = [];
  readonly http: HttpRequest[] = [];
  readonly gw: GatewayState = { pcp: 'ok', natpmp: 'ok', upnp: 'ok', externalAddress: '198.51.100.7', externalPort: 40000, epoch: 1000 };
  /** Extra replies a hostile device sends after each request (address, port, bytes). */
  hostile: ((req: Sent) => Array<[Remote, Uint8Array]>) | undefined;
  /** UPnP description served by the gateway. */
  description = `<root><device><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL></service></serviceList></device></root>`;
  #sockets = new Map<number, (data: Uint8Array, from: Remote) => void>();
  #nextPort = 50000;
  constructor(readonly clock: FakeClock) {}

  async open(opts: { localPort?: number } = {}): Promise<UdpEndpoint> {
    const port = opts.localPort ?? this.#nextPort++;
    let handler: (data: Uint8Array, from: Remote) => void = () => undefined;
    this.#sockets.set(port, (d, f) => handler(d, f));
    return {
      send: (data, toPort, address) => {
        const s: Sent = { data: Uint8Array.from(data), to: { address, port: toPort }, localPort: port, at: this.clock.now() };
        this.sent.push(s);
        queueMicrotask(() => this.#answer(s));
      },
      onMessage: (h) => { handler = h; },
      close: () => { this.#sockets.delete(port); },
    };
  }

  async localAddressToward(): Promise<string> {
    return HOST;
  }

  /** Delivers a datagram to the client's socket on `port`. */
  deliver(port: number, from: Remote, data: Uint8Array): void {
    this.#sockets.get(port)?.(data, from);
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    this.http.push(req);
    if (this.gw.upnp !== 'ok') throw new Error('connection refused');
    if (req.method === 'GET') return { status: 200, body: this.description };
    const action = /#(\w+)"/.exec(req.headers?.SOAPAction ?? '')?.[1] ?? '';
    const ns = 'urn:schemas-upnp-org:service:WANIPConnection:1';
    const extra = action === 'GetExternalIPAddress' ? `<NewExternalIPAddress>${this.gw.externalAddress}</NewExternalIPAddress>` : '';
    return { status: 200, body: `<s:Envelope><s:Body><u:${action}Response xmlns:u="${ns}">${extra}</u:${action}Response></s:Body></s:Envelope>` };
  }

  /** Requests of a kind: PCP (version 2), NAT-PMP (version 0) or SSDP. */
  requests(kind: 'pcp' | 'natpmp' | 'ssdp'): Sent[] {
    return this.sent.filter((s) => (kind === 'ssdp' ? s.to.port === 1900 : s.to.port === 5351 && s.data[0] === (kind === 'pcp' ? 2 : 0)));
  }

  #answer(s: Sent): void {
    for (const [from, data] of this.hostile?.(s) ?? []) this.deliver(s.localPort, from, data);
    const reply = this.#gatewayReply(s);
    if (reply) this.deliver(s.localPort, reply.from, reply.data);
  }

  #gatewayReply(s: Sent): { from: Remote; data: Uint8Array } | undefined {
    const g = this.gw;
    if (s.to.port === 1900) {
      if (g.upnp !== 'ok') return undefined;
      const text = `HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: http://${GATEWAY}:5000/rootDesc.xml\r\n\r\n`;
      return { from: { address: GATEWAY, port: 1900 }, data: new TextEncoder().encode(text) };
    }
    if (s.to.address !== GATEWAY || s.to.port !== 5351) return undefined;
    const from = { address: GATEWAY, port: 5351 };
    const req = Buffer.from(s.data);
    if (req[0] === 2) {
      if (g.pcp === 'silent') return undefined;
      if (g.pcp === 'unsupported') return g.natpmp === 'ok' ? { from, data: Uint8Array.of(0, 0x80 | req[1]!, 0, 1, 0, 0, 0, 0) } : undefined;
      const out = Buffer.alloc(req.length);
      out[0] = 2;
      out[1] = 0x80 | req[1]!;
      const asked = req.readUInt32BE(4);
      out.writeUInt32BE(asked === 0 ? 0 : g.grantS ?? asked, 4);
      out.writeUInt32BE(g.epoch, 8);
      if (req[1] === 1) {
        req.copy(out, 24, 24, 42); // nonce, protocol, reserved, internal port
        out.writeUInt16BE(g.externalPort, 42);
        out[54] = 0xff;
        out[55] = 0xff;
        Buffer.from(g.externalAddress.split('.').map(Number)).copy(out, 56);
      }
      return { from, data: out };
    }
    if (g.natpmp === 'silent') return undefined;
    if (g.natpmp === 'unsupported') return { from, data: Uint8Array.of(0, 128 + req[1]!, 0, 1, 0, 0, 0, 0) };
    if (req[1] === 0) {
      const out = Buffer.alloc(12);
      out[1] = 128;
      out.writeUInt32BE(g.epoch, 4);
      Buffer.from(g.externalAddress.split('.').map(Number)).copy(out, 8);
      return { from, data: out };
    }
    const out = Buffer.alloc(16);
    out[1] = 129;
    out.writeUInt32BE(g.epoch, 4);
    out.writeUInt16BE(req.readUInt16BE(4), 8);
    const asked = req.readUInt32BE(8);
    out.writeUInt16BE(asked === 0 ? 0 : g.externalPort, 10);
    out.writeUInt32BE(asked === 0 ? 0 : g.grantS ?? asked, 12);
    return { from, data: out };
  }
}
