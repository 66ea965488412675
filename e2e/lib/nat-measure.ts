// Classifies a NAT by what UDP really does (RFC 4787 terms), from a host behind it and three
// public echo targets: t1 and t2 are asked whoami (same mapping for both => endpoint-independent
// mapping); then, toward the mapping t1 saw, t1 sends from another port and t3 (never contacted)
// from its own, and t1 finally from the contacted endpoint as a control that must get through.
import type { Netns } from './netns.js';
import { sleep, waitFor } from './process.js';
import { ProbeHost, type EchoTarget } from './udp-probe.js';

export type Mapping = 'no-nat' | 'endpoint-independent' | 'endpoint-dependent' | 'no-udp';
export type Filtering = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

export interface Targets {
  t1: EchoTarget;
  t2: EchoTarget;
  t3: EchoTarget;
}

export interface NatMeasurement {
  mapping: Mapping;
  /** Undefined when no UDP got through. */
  filtering: Filtering | undefined;
  /** What t1 and t2 saw (address:port). */
  viaT1: string | undefined;
  viaT2: string | undefined;
  /** The probe, still running, for further checks; stop() it when done. */
  probe: ProbeHost;
}

/** Another port of t1 (never contacted) used for the port-dependence check. */
export const OTHER_PORT = 4000;
/** How long a datagram that did not arrive is waited for after the control arrived. */
const SETTLE_MS = 300;

export async function measureNat(host: Netns, hostAddress: string, port: number, { t1, t2, t3 }: Targets): Promise<NatMeasurement> {
  const probe = await ProbeHost.start(host, port, [t1, t2], { askTimeoutMs: 1500 });
  const viaT1 = probe.mappedBy(t1);
  const viaT2 = probe.mappedBy(t2);
  if (!viaT1 || !viaT2) return { mapping: 'no-udp', filtering: undefined, viaT1, viaT2, probe };
  const mapping: Mapping = viaT1 === `${hostAddress}:${port}` ? 'no-nat' : viaT1 === viaT2 ? 'endpoint-independent' : 'endpoint-dependent';
  const tag = `${host.name}:${port}`;
  await t1.sendFrom(OTHER_PORT, viaT1, `other-port ${tag}`);
  await t3.relay(viaT1, `other-address ${tag}`);
  await t1.relay(viaT1, `control ${tag}`);
  await waitFor(() => probe.got(`control ${tag}`), { timeoutMs: 3_000, what: `control datagram from ${t1.endpoint} to ${tag} via ${viaT1}` });
  await sleep(SETTLE_MS);
  const filtering: Filtering = probe.got(`other-address ${tag}`)
    ? 'endpoint-independent'
    : probe.got(`other-port ${tag}`) ? 'address-dependent' : 'address-and-port-dependent';
  return { mapping, filtering, viaT1, viaT2, probe };
}

/**
 * The mapping a router's conntrack gave the UDP flow src:sport -> dst (as address:port), or
 * undefined if it has no such flow.
 */
export async function conntrackMapping(router: Netns, src: string, sport: number, dst: string): Promise<string | undefined> {
  const r = await router.exec('conntrack', ['-L', '-p', 'udp', '--orig-src', src, '--orig-port-src', String(sport), '--orig-dst', dst], { allowFail: true });
  // udp 17 29 src=S dst=D sport=s dport=d [UNREPLIED] src=D dst=MAPPED sport=d dport=MAPPEDPORT ...
  const m = /src=\S+ dst=\S+ sport=\d+ dport=\d+ .*?src=\S+ dst=(\S+) sport=\d+ dport=(\d+)/.exec(r.stdout);
  return m ? `${m[1]}:${m[2]}` : undefined;
}
