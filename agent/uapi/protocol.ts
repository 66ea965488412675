// The cross-platform userspace API ("UAPI") that `wg` speaks to userspace WireGuard engines:
// `get=1` dumps the device as key=value lines, `set=1` applies key=value lines. Keys are hex.
// Errors are negative errno values, as wireguard-go reports them.
import type { Device } from '../wireguard/device.js';
import type { Peer } from '../wireguard/peer.js';
import { formatEndpoint, formatPrefix, parseEndpoint, parsePrefix } from '../../shared/net/address.js';
import { formatHexKey, isZeroKey, parseHexKey } from '../../shared/keys.js';

export const ERRNO_IO = -5;
export const ERRNO_INVALID = -22;
export const ERRNO_PORT_IN_USE = -98;
export const ERRNO_PROTOCOL = -71;

export class UapiError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'UapiError';
  }
}

/** What the I/O edge does for device keys the pure engine cannot act on alone. */
export interface UapiHooks {
  /** Rebind the UDP socket; reject with a UapiError(ERRNO_PORT_IN_USE) when the port is taken. */
  setListenPort(port: number): Promise<void> | void;
  /** Mark the UDP socket's datagrams (SO_MARK); reject with a UapiError when the kernel refuses. */
  setFwmark(mark: number): Promise<void> | void;
}

/** What a set transaction leaves for the I/O edge to do (the engine has no sockets). */
export interface SetResult {
  listenPort?: number;
  fwmark?: number;
}

export function formatGet(device: Device): string {
  const out: string[] = [];
  if (device.localKey) out.push(`private_key=${formatHexKey(device.localKey.raw)}`);
  if (device.listenPort) out.push(`listen_port=${device.listenPort}`);
  if (device.fwmark) out.push(`fwmark=${device.fwmark}`);
  for (const p of device.listPeers()) {
    const wallMs = p.stats.lastHandshakeWall;
    out.push(`public_key=${formatHexKey(p.publicKey)}`);
    out.push(`preshared_key=${formatHexKey(p.preshared ?? Buffer.alloc(32))}`);
    out.push('protocol_version=1');
    if (p.endpoint) out.push(`endpoint=${formatEndpoint(p.endpoint)}`);
    out.push(`last_handshake_time_sec=${Math.floor(wallMs / 1000)}`);
    out.push(`last_handshake_time_nsec=${Math.floor(wallMs % 1000) * 1_000_000}`);
    out.push(`tx_bytes=${p.stats.txBytes}`);
    out.push(`rx_bytes=${p.stats.rxBytes}`);
    out.push(`persistent_keepalive_interval=${p.timers.persistentKeepaliveInterval / 1000}`);
    for (const prefix of device.allowedIps.prefixesOf(p)) out.push(`allowed_ip=${formatPrefix(prefix)}`);
  }
  return out.map((l) => l + '\n').join('');
}

/**
 * Applies the lines of a set request (without `set=1` and the final blank line). Lines are
 * applied in order, as wireguard-go does; the first bad line stops the transaction with its errno.
 * A new listen port is returned rather than applied: rebinding is the I/O edge's job, done
 * after the other lines (so a busy port fails the request but leaves the peers it set).
 */
export function applySet(device: Device, lines: string[]): SetResult {
  const result: SetResult = {};
  let peer: Peer | undefined;
  let skipPeer = false; // lines of a removed peer, or of an update_only peer that did not exist
  const created = new Set<Peer>(); // peers this transaction made: update_only must undo them
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new UapiError(ERRNO_PROTOCOL, `malformed line "${line}"`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'public_key') {
      const pk = parseHex(value, 'public_key');
      peer = device.getPeer(pk);
      skipPeer = false;
      if (!peer) {
        if (device.publicKey?.equals(pk)) {
          skipPeer = true; // our own key: wireguard-go ignores such a peer
          continue;
        }
        peer = device.addPeer(pk);
        created.add(peer!);
      }
      continue;
    }
    if (peer === undefined && !skipPeer) {
      applyDeviceKey(device, key, value, result);
      continue;
    }
    if (skipPeer) {
      if (!PEER_KEYS.has(key)) throw new UapiError(ERRNO_INVALID, `unknown peer key "${key}"`);
      continue;
    }
    const p = peer!;
    switch (key) {
      case 'update_only':
        if (value !== 'true') throw new UapiError(ERRNO_INVALID, 'update_only must be true');
        if (created.has(p)) {
          device.removePeer(p.publicKey);
          peer = undefined;
          skipPeer = true;
        }
        break;
      case 'remove':
        if (value !== 'true') throw new UapiError(ERRNO_INVALID, 'remove must be true');
        device.removePeer(p.publicKey);
        peer = undefined;
        skipPeer = true;
        break;
      case 'preshared_key': {
        const k = parseHex(value, 'preshared_key');
        p.rekeySecrets(isZeroKey(k) ? undefined : k);
        break;
      }
      case 'endpoint':
        try {
          p.endpoint = parseEndpoint(value);
        } catch (e) {
          throw new UapiError(ERRNO_INVALID, `endpoint: ${(e as Error).message}`);
        }
        break;
      case 'persistent_keepalive_interval':
        p.setPersistentKeepalive(parseUint(value, 65535, key), true);
        break;
      case 'replace_allowed_ips':
        if (value !== 'true') throw new UapiError(ERRNO_INVALID, 'replace_allowed_ips must be true');
        device.allowedIps.removeByValue(p);
        break;
      case 'allowed_ip': {
        const remove = value.startsWith('-');
        let prefix;
        try {
          prefix = parsePrefix(remove ? value.slice(1) : value);
        } catch (e) {
          throw new UapiError(ERRNO_INVALID, `allowed_ip: ${(e as Error).message}`);
        }
        if (remove) device.allowedIps.remove(prefix, p);
        else device.allowedIps.insert(prefix, p);
        break;
      }
      case 'protocol_version':
        if (value !== '1') throw new UapiError(ERRNO_INVALID, `protocol_version ${value} is not supported`);
        break;
      default:
        throw new UapiError(ERRNO_INVALID, `unknown peer key "${key}"`);
    }
  }
  return result;
}

const PEER_KEYS = new Set([
  'update_only',
  'remove',
  'preshared_key',
  'endpoint',
  'persistent_keepalive_interval',
  'replace_allowed_ips',
  'allowed_ip',
  'protocol_version',
]);

function applyDeviceKey(device: Device, key: string, value: string, result: SetResult): void {
  switch (key) {
    case 'private_key': {
      const k = parseHex(value, 'private_key');
      device.setPrivateKey(isZeroKey(k) ? undefined : k);
      break;
    }
    case 'listen_port': {
      result.listenPort = parseUint(value, 65535, key);
      break;
    }
    case 'fwmark':
      result.fwmark = parseUint(value, 0xffffffff, key);
      break;
    case 'replace_peers':
      if (value !== 'true') throw new UapiError(ERRNO_INVALID, 'replace_peers must be true');
      device.removeAllPeers();
      break;
    default:
      throw new UapiError(ERRNO_INVALID, `unknown device key "${key}"`);
  }
}

function parseHex(value: string, what: string): Buffer {
  try {
    return parseHexKey(value, what);
  } catch (e) {
    throw new UapiError(ERRNO_INVALID, (e as Error).message);
  }
}

function parseUint(value: string, max: number, what: string): number {
  if (!/^\d+$/.test(value) || Number(value) > max) throw new UapiError(ERRNO_INVALID, `${what} must be 0..${max}`);
  return Number(value);
}
