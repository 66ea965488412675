// What the data-plane offloads are doing, for the log line at start-up and the counters of
// `wgp2p status`.
import type { TunDevice } from '../tun/tun-device.js';
import { TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_USO4, TUN_F_USO6 } from '../tun/offload/tun-offload.js';
import type { BatchUdpSocket } from './batch-udp-socket.js';

const TUN_FLAG_NAMES: [number, string][] = [
  [TUN_F_CSUM, 'csum'],
  [TUN_F_TSO4, 'tso4'],
  [TUN_F_TSO6, 'tso6'],
  [TUN_F_USO4, 'uso4'],
  [TUN_F_USO6, 'uso6'],
];

/** "tun csum tso4 tso6 uso4 uso6, udp gso gro": what the kernel granted. */
export function describeOffloads(tun: TunDevice, udp: BatchUdpSocket): string {
  const { vnetHdr, flags } = tun.offload;
  const tunParts = TUN_FLAG_NAMES.filter(([bit]) => flags & bit).map(([, name]) => name);
  const udpParts = [udp.gso ? 'gso' : '', udp.gro ? 'gro' : ''].filter(Boolean);
  return `tun ${vnetHdr ? tunParts.join(' ') || 'vnet-hdr only' : 'off'}, udp ${udpParts.join(' ') || 'off'}`;
}

/** Offload counters, prefixed "offload_", to add to the device's own. */
export function offloadCounters(tun: TunDevice, udp: BatchUdpSocket): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(tun.offload.counters)) out[`offload_tun_${k}`] = v;
  const { gsoSends, groReceives } = udp.offloadCounts;
  if (gsoSends) out.offload_udp_gso_sends = gsoSends;
  if (groReceives) out.offload_udp_gro_receives = groReceives;
  return out;
}
