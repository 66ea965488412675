// The reference WireGuard peer for e2e tests: wireguard-go inside a namespace,
// configured and inspected with the real `wg` tool. Its UAPI sockets live in
// /var/run/wireguard, which all namespaces share, so interface names must be
// unique machine-wide (use your test's prefix).
import { existsSync, unlinkSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAddress, checkIfName, linkUp, setMtu, type Netns } from './netns.js';
import { runCommand, waitFor, type ManagedProcess } from './process.js';

export const WG_SOCKET_DIR = '/var/run/wireguard';
const SOCKET_WAIT_MS = 10_000;

export interface WgPeerConfig {
  /** Base64 public key. */
  publicKey: string;
  /** Base64 pre-shared key. */
  presharedKey?: string;
  /** "ip:port" or "[v6]:port". */
  endpoint?: string;
  /** CIDRs, e.g. ['10.99.0.2/32', 'fd99::2/128']. May be empty. */
  allowedIps: string[];
  /** Seconds; 0 or undefined = off. */
  persistentKeepalive?: number;
}

export interface WireguardGoOptions {
  ifname: string;
  /** Base64 private key. */
  privateKey: string;
  listenPort: number;
  /** One CIDR or several (e.g. IPv4 and IPv6) to put on the interface. */
  address: string | string[];
  mtu?: number;
  peers: WgPeerConfig[];
}

/** One peer line of `wg show IF dump`. */
export interface WgPeerStatus {
  publicKey: string;
  /** undefined when `(none)`. */
  presharedKey: string | undefined;
  /** "ip:port", undefined when `(none)`. */
  endpoint: string | undefined;
  allowedIps: string[];
  /** Unix seconds of the last handshake; 0 = never. */
  latestHandshake: number;
  /** Bytes received from / sent to this peer. */
  rx: number;
  tx: number;
  /** Persistent keepalive in seconds; 0 = off. */
  keepalive: number;
}

/** `wg show IF dump`, parsed. */
export interface WgDump {
  privateKey: string | undefined;
  publicKey: string | undefined;
  listenPort: number;
  /** undefined when `off`. */
  fwmark: number | undefined;
  peers: WgPeerStatus[];
}

export interface WireguardGoHandle {
  readonly ns: Netns;
  readonly ifname: string;
  /** Base64 public key of this interface. */
  readonly publicKey: string;
  readonly listenPort: number;
  readonly process: ManagedProcess;
  /** Raw `wg show IF`. */
  wgShow(): Promise<string>;
  /** Parsed `wg show IF dump`. */
  wgDump(): Promise<WgDump>;
  /** The dump entry of one peer; throws if the interface has no such peer. */
  peerStatus(publicKey: string): Promise<WgPeerStatus>;
  /** Adds or updates a peer (`wg set IF peer ...`). */
  setPeer(peer: WgPeerConfig): Promise<void>;
  /** `wg set IF peer KEY endpoint ENDPOINT`. */
  setPeerEndpoint(publicKey: string, endpoint: string): Promise<void>;
  removePeer(publicKey: string): Promise<void>;
  /** SIGTERM (SIGKILL after a grace period); makes sure the UAPI socket is gone. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `wireguard-go -f IFNAME` in `ns`, waits for its UAPI socket,
 * configures keys/peers with `wg set` (keys pass through 0600 temp files, never
 * argv), adds the addresses, sets the MTU and brings the link up. The daemon
 * is stopped when the namespace is deleted.
 */
export async function startWireguardGo(ns: Netns, opts: WireguardGoOptions): Promise<WireguardGoHandle> {
  checkIfName(opts.ifname);
  const ifname = opts.ifname;
  const socket = join(WG_SOCKET_DIR, `${ifname}.sock`);
  const proc = ns.spawn('wireguard-go', ['-f', ifname], {
    name: `${ns.name}.wireguard-go.${ifname}`,
    env: { WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'verbose' },
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await proc.kill('SIGTERM');
    // wireguard-go removes its socket on SIGTERM, not on SIGKILL.
    if (existsSync(socket)) await unlink(socket).catch(() => undefined);
  };
  ns.onDelete(stop, () => {
    proc.killNow();
    try { unlinkSync(socket); } catch { /* already gone */ }
  });

  try {
    await waitFor(() => {
      if (!proc.running) throw new Error(`wireguard-go exited early\n${proc.tail(20)}`);
      return existsSync(socket);
    }, { timeoutMs: SOCKET_WAIT_MS, intervalMs: 25, what: `wireguard-go socket ${socket}` }).catch((err: Error) => {
      throw new Error(`${err.message}\n${proc.tail(20)}`);
    });
    await wgSet(ns, ifname, { privateKey: opts.privateKey, listenPort: opts.listenPort });
    for (const peer of opts.peers) await wgSet(ns, ifname, { peer });
    for (const cidr of Array.isArray(opts.address) ? opts.address : [opts.address]) {
      await addAddress(ns, ifname, cidr);
    }
    if (opts.mtu !== undefined) await setMtu(ns, ifname, opts.mtu);
    await linkUp(ns, ifname);
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  return {
    ns,
    ifname,
    publicKey: await publicKeyOf(opts.privateKey),
    listenPort: opts.listenPort,
    process: proc,
    ...wgTool(ns, ifname),
    stop,
  };
}

/** What the real `wg` tool can do with any userspace interface, ours or wireguard-go's. */
export type WgTool = Pick<WireguardGoHandle, 'wgShow' | 'wgDump' | 'peerStatus' | 'setPeer' | 'setPeerEndpoint' | 'removePeer'>;

export function wgTool(ns: Netns, ifname: string): WgTool {
  const wgDump = async (): Promise<WgDump> => parseWgDump((await ns.exec('wg', ['show', ifname, 'dump'])).stdout);
  return {
    wgShow: async () => (await ns.exec('wg', ['show', ifname])).stdout,
    wgDump,
    async peerStatus(key) {
      const dump = await wgDump();
      const p = dump.peers.find((x) => x.publicKey === key);
      if (!p) throw new Error(`${ifname} has no peer ${key} (peers: ${dump.peers.map((x) => x.publicKey).join(', ') || 'none'})`);
      return p;
    },
    setPeer: (peer) => wgSet(ns, ifname, { peer }),
    setPeerEndpoint: async (key, endpoint) => { await ns.exec('wg', ['set', ifname, 'peer', key, 'endpoint', endpoint]); },
    removePeer: async (key) => { await ns.exec('wg', ['set', ifname, 'peer', key, 'remove']); },
  };
}

/** A fresh X25519 key pair from `wg genkey` / `wg pubkey`, both base64. */
export async function genKeyPair(): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = (await runCommand('wg', ['genkey'])).stdout.trim();
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

/** The base64 public key for a base64 private key (`wg pubkey`). */
export async function publicKeyOf(privateKey: string): Promise<string> {
  return (await runCommand('wg', ['pubkey'], { input: `${privateKey}\n` })).stdout.trim();
}

/** A fresh base64 pre-shared key (`wg genpsk`). */
export async function genPresharedKey(): Promise<string> {
  return (await runCommand('wg', ['genpsk'])).stdout.trim();
}

/**
 * Parses `wg show IF dump`: an interface line (private key, public key,
 * listen port, fwmark) then one tab-separated line per peer.
 */
export function parseWgDump(text: string): WgDump {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error('empty `wg show dump` output');
  const head = lines[0]!.split('\t');
  if (head.length !== 4) throw new Error(`unexpected interface line in wg dump: ${JSON.stringify(lines[0])}`);
  const peers = lines.slice(1).map((line): WgPeerStatus => {
    const f = line.split('\t');
    if (f.length !== 8) throw new Error(`unexpected peer line in wg dump: ${JSON.stringify(line)}`);
    return {
      publicKey: f[0]!,
      presharedKey: none(f[1]!),
      endpoint: none(f[2]!),
      allowedIps: f[3] === '(none)' ? [] : f[3]!.split(','),
      latestHandshake: toInt(f[4]!, 'latest-handshake'),
      rx: toInt(f[5]!, 'transfer-rx'),
      tx: toInt(f[6]!, 'transfer-tx'),
      keepalive: f[7] === 'off' ? 0 : toInt(f[7]!, 'persistent-keepalive'),
    };
  });
  return {
    privateKey: none(head[0]!),
    publicKey: none(head[1]!),
    listenPort: toInt(head[2]!, 'listen-port'),
    fwmark: head[3] === 'off' ? undefined : toInt(head[3]!, 'fwmark'),
    peers,
  };
}

interface WgSetArgs {
  privateKey?: string;
  listenPort?: number;
  peer?: WgPeerConfig;
}

/** One `wg set` call; secrets go through a private temp dir that is removed afterwards. */
async function wgSet(ns: Netns, ifname: string, a: WgSetArgs): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wgp2p-e2e-keys-')); // mkdtemp makes it 0700
  try {
    const args = ['set', ifname];
    const secret = async (name: string, value: string): Promise<string> => {
      const file = join(dir, name);
      await writeFile(file, `${value}\n`, { mode: 0o600 });
      return file;
    };
    if (a.privateKey !== undefined) args.push('private-key', await secret('private', a.privateKey));
    if (a.listenPort !== undefined) args.push('listen-port', String(a.listenPort));
    const p = a.peer;
    if (p) {
      args.push('peer', p.publicKey);
      if (p.presharedKey !== undefined) args.push('preshared-key', await secret('psk', p.presharedKey));
      if (p.endpoint !== undefined) args.push('endpoint', p.endpoint);
      args.push('allowed-ips', p.allowedIps.join(','));
      if (p.persistentKeepalive !== undefined) args.push('persistent-keepalive', p.persistentKeepalive ? String(p.persistentKeepalive) : 'off');
    }
    await ns.exec('wg', args);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function none(s: string): string | undefined {
  return s === '(none)' ? undefined : s;
}

function toInt(s: string, what: string): number {
  if (!/^\d+$/.test(s)) throw new Error(`wg dump: ${what} is not a number: ${JSON.stringify(s)}`);
  return Number(s);
}
