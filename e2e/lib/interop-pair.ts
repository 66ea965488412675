// Our engine and wireguard-go in two namespaces on a veth "internet": the setup every engine
// interop test starts from. Ours is 198.51.100.1 / 10.77.0.1 / fd77::1, the reference .2.
import { genKeyPair, genPresharedKey, startWireguardGo, type WireguardGoHandle, type WireguardGoOptions } from './wireguard-go.js';
import { startWgp2pTunnel, type Wgp2pTunnel } from './wgp2p-tunnel.js';
import { LINK_ADDRESSES, linkedPair } from './linked-pair.js';
import { Lab, type Netns } from './netns.js';
import type { TestLike } from './root.js';

/** One end: its address on the veth link, its listen port and its tunnel addresses. */
export interface End {
  outer: string;
  port: number;
  inner: string;
  inner6: string;
}

export const OURS: End = { outer: LINK_ADDRESSES[0], port: 51820, inner: '10.77.0.1', inner6: 'fd77::1' };
export const REF: End = { outer: LINK_ADDRESSES[1], port: 51821, inner: '10.77.0.2', inner6: 'fd77::2' };

export interface InteropPair {
  lab: Lab;
  nsOurs: Netns;
  nsRef: Netns;
  ours: Wgp2pTunnel;
  ref: WireguardGoHandle;
}

export interface PairOptions {
  /** Short unique prefix for namespace and interface names (≤ 6 characters). */
  tag: string;
  /** Which side knows the other's endpoint and so initiates. */
  initiator: 'ours' | 'ref';
  /** Extra environment for our daemon (test-only limits). */
  env?: Record<string, string>;
  /** FwMark in our daemon's file. */
  fwmark?: number;
}

export async function startInteropPair(t: TestLike, o: PairOptions): Promise<InteropPair> {
  const lab = await Lab.create(t, { name: `${o.tag}-interop` });
  const [nsOurs, nsRef] = await linkedPair(lab, [`${o.tag}-ours`, `${o.tag}-ref`], [`${o.tag}-o`, `${o.tag}-r`]);
  const [ko, kr] = [await genKeyPair(), await genKeyPair()];
  const psk = await genPresharedKey();
  // One side's configuration: `me` with key `k`, its peer `other` with key `peerKey`.
  const side = (ifname: string, k: typeof ko, me: End, peerKey: typeof kr, other: End, initiates: boolean): WireguardGoOptions => ({
    ifname,
    privateKey: k.privateKey,
    listenPort: me.port,
    address: [`${me.inner}/24`, `${me.inner6}/64`],
    mtu: 1420,
    peers: [{
      publicKey: peerKey.publicKey,
      presharedKey: psk,
      endpoint: initiates ? `${other.outer}:${other.port}` : undefined,
      allowedIps: [`${other.inner}/32`, `${other.inner6}/128`],
    }],
  });
  const ours = await startWgp2pTunnel(nsOurs, { ...side(`${o.tag}wg0`, ko, OURS, kr, REF, o.initiator === 'ours'), env: o.env, fwmark: o.fwmark });
  const ref = await startWireguardGo(nsRef, side(`${o.tag}wg1`, kr, REF, ko, OURS, o.initiator === 'ref'));
  return { lab, nsOurs, nsRef, ours, ref };
}
