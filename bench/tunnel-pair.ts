// The benches' plain tunnel: two namespaces on a veth (198.51.100.1 and .2), one WireGuard peer
// each, run by our daemon or by wireguard-go, up once a ping crossed it.
import { linkedPair } from '../e2e/lib/linked-pair.js';
import type { Lab, Netns } from '../e2e/lib/netns.js';
import { genKeyPair, startWireguardGo, type WireguardGoOptions } from '../e2e/lib/wireguard-go.js';
import { startWgp2pTunnel, type Wgp2pTunnelOptions } from '../e2e/lib/wgp2p-tunnel.js';

export type Engine = 'wgp2p' | 'wireguard-go';

export interface TunnelPairOptions {
  /** The tunnel's /24 as its first three octets ("10.78.0"): the ends are .1 and .2. */
  subnet: string;
  persistentKeepalive?: number;
  /** Node flags and environment for our daemons (profiling, offloads off); wgp2p only. */
  daemon?: Pick<Wgp2pTunnelOptions, 'nodeArgs' | 'env'>;
}

export interface TunnelPair {
  a: Netns;
  b: Netns;
  /** b's tunnel address. */
  peerAddress: string;
  /** The two daemons' pids. */
  pids: number[];
}

export async function openTunnelPair(lab: Lab, tag: string, engine: Engine, o: TunnelPairOptions): Promise<TunnelPair> {
  const [a, b] = await linkedPair(lab, [`${tag}-a`, `${tag}-b`]);
  const [ka, kb] = [await genKeyPair(), await genKeyPair()];
  const side = (k: typeof ka, other: typeof kb, n: 1 | 2): WireguardGoOptions => ({
    ifname: `${tag}wg${n}`,
    privateKey: k.privateKey,
    listenPort: 51820,
    address: `${o.subnet}.${n}/24`,
    mtu: 1420,
    peers: [{ publicKey: other.publicKey, allowedIps: [`${o.subnet}.${3 - n}/32`], endpoint: `198.51.100.${3 - n}:51820`, persistentKeepalive: o.persistentKeepalive }],
  });
  const start = engine === 'wgp2p' ? (ns: Netns, w: WireguardGoOptions) => startWgp2pTunnel(ns, { ...w, ...o.daemon }) : startWireguardGo;
  const ta = await start(a, side(ka, kb, 1));
  const tb = await start(b, side(kb, ka, 2));
  const peerAddress = `${o.subnet}.2`;
  await a.exec('ping', ['-c', '1', '-W', '5', peerAddress], { timeoutMs: 15_000 });
  return { a, b, peerAddress, pids: [ta.process.pid!, tb.process.pid!] };
}
