// The JoinEngine port (ports.ts) over the userspace WireGuard Device.
import type { Device } from '../wireguard/device.js';
import type { JoinEngine } from './ports.js';

export function deviceEngine(device: Device): JoinEngine {
  return {
    addPeer(publicKey, presharedKey, keepaliveSeconds) {
      const peer = device.addPeer(publicKey, presharedKey);
      peer?.setPersistentKeepalive(keepaliveSeconds, true);
      return !!peer;
    },
    removePeer: (publicKey) => void device.removePeer(publicKey),
    setKeepalive(publicKey, seconds) {
      const peer = device.getPeer(publicKey);
      peer?.setPersistentKeepalive(seconds, true);
      return !!peer;
    },
    hasPeer: (publicKey) => !!device.getPeer(publicKey),
    endpoint: (publicKey) => device.getPeer(publicKey)?.endpoint,
    setEndpoint(publicKey, to) {
      const peer = device.getPeer(publicKey);
      if (!peer) return;
      peer.endpoint = to;
      peer.sendKeepalive();
    },
    authenticatedBytes: (publicKey) => device.getPeer(publicKey)?.stats.rxBytes ?? 0,
    lastDataAt: (publicKey) => device.getPeer(publicKey)?.lastDataAt ?? -Infinity,
    onActivity(cb) {
      device.onPeerActive = (peer) => cb(peer.publicKey);
    },
    receive: (datagram, from) => device.receive(datagram, from),
    allow(prefix, publicKey) {
      const peer = device.getPeer(publicKey);
      if (peer) device.allowedIps.insert(prefix, peer);
      return !!peer;
    },
    disallow(prefix, publicKey) {
      const peer = device.getPeer(publicKey);
      if (peer) device.allowedIps.remove(prefix, peer);
    },
  };
}
