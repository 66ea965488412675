// `wgp2p netcheck`: what the network between this host and a signal server looks like, from a
// fresh UDP socket: the mapped address, the NAT's mapping and filtering behaviour (RFC 5780,
// with the server's alternate STUN port), hairpinning (does a datagram sent to our own mapped
// address come back?), IPv6, latency to the server (STUN and the WebSocket greeting), and which
// port-mapping protocols the default gateway speaks (PCP, NAT-PMP, UPnP IGD).
import dgram, { type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import WebSocket from 'ws';
import { formatEndpoint, makeEndpoint, type Endpoint } from '../../../shared/net/address.js';
import { parseServerMessage, PROTOCOL_VERSION } from '../../../shared/signal/index.js';
import { discoverNatBehaviour, type FilteringBehaviour, type MappingBehaviour } from '../../../shared/stun/discovery.js';
import { stunQuery } from '../../../shared/stun/client.js';
import { isProbeableAddress } from './candidates.js';
import { resolveStunServer } from './stun-server.js';
import { probePortMapping, type ProbeResult } from '../../portmap/index.js';

export interface NetcheckOptions {
  /** Default: ask the default gateway (agent/portmap). */
  probePortmap?: () => Promise<ProbeResult>;
}

export interface NetcheckReport {
  server: string;
  stun: string;
  /** Our public address as the server's STUN service sees it; undefined: no UDP answer. */
  mapped?: string;
  mappedAlt?: string;
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
  hairpinning: boolean | 'unknown';
  ipv6: { hostAddresses: string[]; mapped?: string };
  latency: { stunMs?: number; websocketMs?: number };
  /** The default gateway and the port-mapping protocols it answers. */
  portmap: ProbeResult;
  /** What went wrong, in words (server unreachable, no UDP, ...). */
  problems: string[];
}

function bound(type: 'udp4' | 'udp6'): Promise<Socket> {
  const s = dgram.createSocket(type);
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
  });
}

async function stunRtt(socket: Socket, server: Endpoint): Promise<number | undefined> {
  const t0 = performance.now();
  const r = await stunQuery(socket, { host: server.address, port: server.port }, { rtoMs: 300, attempts: 3 });
  return r?.response.kind === 'success' ? round(performance.now() - t0) : undefined;
}

/** Sends a token from a second socket to `mapped`; true if `socket` receives it (the NAT hairpins). */
async function hairpin(socket: Socket, mapped: Endpoint): Promise<boolean> {
  const other = await bound('udp4');
  const token = randomBytes(16);
  const sends: NodeJS.Timeout[] = [];
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), 600);
      const onMessage = (m: Buffer) => m.equals(token) && finish(true);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        sends.forEach(clearTimeout);
        socket.off('message', onMessage);
        resolve(ok);
      };
      socket.on('message', onMessage);
      const send = () => other.send(token, mapped.port, mapped.address, () => undefined);
      for (const delay of [0, 150, 300]) sends.push(setTimeout(send, delay));
    });
  } finally {
    sends.forEach(clearTimeout);
    other.close();
  }
}

function websocketLatency(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const ws = new WebSocket(url, { handshakeTimeout: 5_000, perMessageDeflate: false });
    const done = (v: number | undefined) => {
      ws.terminate();
      resolve(v);
    };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION })));
    ws.on('message', (d: Buffer) => {
      const m = parseServerMessage(d.toString('utf8'));
      done(m.ok && m.message.type === 'welcome' ? round(performance.now() - t0) : undefined);
    });
    ws.on('error', () => done(undefined));
    ws.on('unexpected-response', () => done(undefined));
  });
}

/** Our IPv6 address as the server sees it, when the server has one too. */
async function ipv6Mapped(serverUrl: string, stunPort: number): Promise<string | undefined> {
  const host = new URL(serverUrl).hostname.replace(/^\[(.*)\]$/, '$1');
  const address = host.includes(':') ? host : await lookup(host, { family: 6 }).then((r) => r.address, () => undefined);
  if (!address) return undefined;
  const socket = await bound('udp6').catch(() => undefined);
  if (!socket) return undefined;
  try {
    const r = await stunQuery(socket, { host: address, port: stunPort }, { rtoMs: 300, attempts: 2 });
    return r?.response.kind === 'success' ? formatEndpoint(makeEndpoint(r.response.mapped.address, r.response.mapped.port)) : undefined;
  } finally {
    socket.close();
  }
}

function globalIpv6(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && !i.internal && i.family === 'IPv6' && isProbeableAddress(i.address))
    .map((i) => i!.address);
}

const NO_PORTMAP: ProbeResult = { gateway: undefined, pcp: false, natpmp: false, upnp: false };

export async function netcheck(serverUrl: string, stunPort: number, o: NetcheckOptions = {}): Promise<NetcheckReport> {
  const report: NetcheckReport = { server: serverUrl, stun: '', mapping: 'unknown', filtering: 'unknown', hairpinning: 'unknown', ipv6: { hostAddresses: globalIpv6() }, latency: {}, portmap: NO_PORTMAP, problems: [] };
  const wsLatency = websocketLatency(serverUrl);
  // The gateway is asked meanwhile: its timeouts then cost no extra time.
  const portmap = (o.probePortmap ?? (() => probePortMapping()))().catch(() => NO_PORTMAP);
  const done = async () => {
    report.latency.websocketMs = await wsLatency;
    report.portmap = await portmap;
    return report;
  };
  let server: Endpoint;
  try {
    server = await resolveStunServer(serverUrl, stunPort);
  } catch (e) {
    report.problems.push(`cannot resolve the server: ${(e as Error).message}`);
    return done();
  }
  report.stun = formatEndpoint(server);
  const family = server.family === 6 ? 'udp6' : 'udp4';
  const socket = await bound(family);
  try {
    report.latency.stunMs = await stunRtt(socket, server);
    const nat = await discoverNatBehaviour(socket, { host: server.address, port: server.port }, { rtoMs: 250, attempts: 3 });
    report.mapping = nat.mapping;
    report.filtering = nat.filtering;
    if (nat.mapped) {
      const mapped = makeEndpoint(nat.mapped.address, nat.mapped.port);
      report.mapped = formatEndpoint(mapped);
      if (family === 'udp4') report.hairpinning = await hairpin(socket, mapped);
    } else {
      report.problems.push(`no STUN answer from ${report.stun} over UDP (UDP blocked, or STUN off on the server)`);
    }
    if (nat.mappedAlt) report.mappedAlt = formatEndpoint(makeEndpoint(nat.mappedAlt.address, nat.mappedAlt.port));
    else if (nat.mapped) report.problems.push('the server has no alternate STUN port (--stun-alt-port): mapping and filtering unknown');
  } finally {
    socket.close();
  }
  if (report.ipv6.hostAddresses.length > 0) report.ipv6.mapped = await ipv6Mapped(serverUrl, stunPort);
  await done();
  if (report.latency.websocketMs === undefined) report.problems.push(`no welcome from ${serverUrl} over WebSocket`);
  return report;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
