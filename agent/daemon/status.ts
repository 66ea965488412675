// The daemon's view of itself for `wgp2p status`: a plain JSON-able snapshot of the device.
import { formatEndpoint, formatPrefix } from '../../shared/net/address.js';
import { formatKey } from '../../shared/keys.js';
import type { Device } from '../wireguard/device.js';
import type { WhyRelayed } from '../join/observe/why-relayed.js';

export interface PeerStatus {
  name: string | undefined;
  /** Its DNS name in the room (join agents answering DNS). */
  dnsName?: string;
  publicKey: string;
  address: string | undefined;
  /** How packets reach the peer: 'direct' when it has an endpoint, else undefined (not reachable yet). */
  path: 'direct' | 'relay' | undefined;
  /** For a relayed path: the relay ('server', 'ws' or a bounce's name). */
  relay?: string;
  endpoint: string | undefined;
  /** A join agent's member without a direct path: why (NATs, candidates tried, port mapping, birthday punching). */
  whyRelayed?: WhyRelayed;
  rttMs: number | undefined;
  /** ISO time of the latest handshake, undefined if none. */
  lastHandshake: string | undefined;
  rxBytes: number;
  txBytes: number;
  allowedIps: string[];
  /** A join agent's member offering --advertise-exit-node, and whether its offer carries IPv6. */
  offersExitNode?: boolean;
  offersExitNodeIpv6?: boolean;
}

export interface DeviceStatus {
  self: {
    dnsName?: string;
    name: string | undefined; publicKey: string | undefined; address: string | undefined; interface: string; listenPort: number;
    /** A join agent's port mapping on its gateway (ip:port), when one is granted. */
    portmap?: string;
    /** A join agent's subnet routes and exit node (agent/join/routes). */
    advertisedRoutes?: string[];
    advertisesExitNode?: boolean;
    advertisesExitNodeIpv6?: boolean;
    acceptedRoutes?: { prefix: string; via: string }[];
    exitNode?: string;
    exitNodeIpv6?: boolean;
  };
  peers: PeerStatus[];
  /** Drop and event counters by reason (malformed, replay, bad mac1, cookie replies, ...). */
  counters: Record<string, number>;
}

export function deviceStatus(device: Device, ifname: string, selfAddress?: string): DeviceStatus {
  return {
    self: { name: undefined, publicKey: device.publicKey && formatKey(device.publicKey), address: selfAddress, interface: ifname, listenPort: device.listenPort },
    peers: device.listPeers().map((p) => {
      const prefixes = device.allowedIps.prefixesOf(p).map(formatPrefix);
      return {
        name: undefined,
        publicKey: formatKey(p.publicKey),
        address: prefixes[0],
        path: p.endpoint ? 'direct' : undefined,
        endpoint: p.endpoint && formatEndpoint(p.endpoint),
        rttMs: undefined,
        lastHandshake: p.stats.lastHandshakeWall ? new Date(p.stats.lastHandshakeWall).toISOString() : undefined,
        rxBytes: p.stats.rxBytes,
        txBytes: p.stats.txBytes,
        allowedIps: prefixes,
      };
    }),
    counters: Object.fromEntries(device.counters),
  };
}
