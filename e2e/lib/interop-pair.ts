// Our engine and wireguard-go in two namespaces on a veth "internet": the setup every engine
// interop test starts from. Ours is 198.51.100.1 / 10.77.0.1 / fd77::1, the reference .2.
import { genKeyPair, genPresharedKey, startWireguardGo, type WireguardGoHandle } from './wireguard-go.js';
import { startWgp2pTunnel, type Wgp2pTunnel } from './wgp2p-tunnel.js';
import { LINK_ADDRESSES, linkedPair } from './linked-pair.js';
import { Lab, type Netns } from './netns.js';
import type { TestLike } from './root.js';

export const OURS = { outer: LINK_ADDRESSES[0], port: 51820, inner: '10.77.0.1', inner6: 'fd77::1' };
export const REF = { outer: LINK_ADDRESSES[1], port: 51821, inner: '10.77.0.2', inner6: 'fd77::2' };

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
  const ko = await genKeyPair();
  const kr = await genKeyPair();
  const psk = await genPresharedKey();
  const ours = await startWgp2pTunnel(nsOurs, {
    ifname: `${o.tag}wg0`,
    privateKey: ko.privateKey,
    listenPort: OURS.port,
    address: [`${OURS.inner}/24`, `${OURS.inner6}/64`],
    mtu: 1420,
    env: o.env,
    fwmark: o.fwmark,
    peers: [{
      publicKey: kr.publicKey,
      presharedKey: psk,
      endpoint: o.initiator === 'ours' ? `${REF.outer}:${REF.port}` : undefined,
      allowedIps: [`${REF.inner}/32`, `${REF.inner6}/128`],
    }],
  });
  const ref = await startWireguardGo(nsRef, {
    ifname: `${o.tag}wg1`,
    privateKey: kr.privateKey,
    listenPort: REF.port,
    address: [`${REF.inner}/24`, `${REF.inner6}/64`],
    mtu: 1420,
    peers: [{
      publicKey: ko.publicKey,
      presharedKey: psk,
      endpoint: o.initiator === 'ref' ? `${OURS.outer}:${OURS.port}` : undefined,
      allowedIps: [`${OURS.inner}/32`, `${OURS.inner6}/128`],
    }],
  });
  return { lab, nsOurs, nsRef, ours, ref };
}
