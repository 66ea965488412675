// iperf3 TCP throughput through a tunnel between two namespaces, built the same way for our
// engine (ours ↔ ours) and for wireguard-go (wireguard-go ↔ wireguard-go), so the ratio is fair.
import { runIperf } from '../e2e/lib/iperf.js';
import { Lab, addAddress, vethPair } from '../e2e/lib/netns.js';
import { genKeyPair, startWireguardGo, type WireguardGoOptions } from '../e2e/lib/wireguard-go.js';
import { startWgp2pTunnel } from '../e2e/lib/wgp2p-tunnel.js';

export type Engine = 'wgp2p' | 'wireguard-go';

export interface ThroughputResult {
  engine: Engine;
  mbitPerSecond: number;
  reverseMbitPerSecond: number;
}

export async function measureThroughput(engine: Engine, seconds: number): Promise<ThroughputResult> {
  const tag = engine === 'wgp2p' ? 'btw' : 'btg';
  const lab = await Lab.create(undefined, { name: `${tag}-bench` });
  try {
    const a = await lab.netns(`${tag}-a`);
    const b = await lab.netns(`${tag}-b`);
    await vethPair(a, `${tag}-a`, b, `${tag}-b`);
    await addAddress(a, `${tag}-a`, '198.51.100.1/24');
    await addAddress(b, `${tag}-b`, '198.51.100.2/24');
    const ka = await genKeyPair();
    const kb = await genKeyPair();
    const side = (k: typeof ka, other: typeof kb, n: 1 | 2): WireguardGoOptions => ({
      ifname: `${tag}wg${n}`,
      privateKey: k.privateKey,
      listenPort: 51820,
      address: `10.78.0.${n}/24`,
      mtu: 1420,
      peers: [{ publicKey: other.publicKey, allowedIps: [`10.78.0.${3 - n}/32`], endpoint: `198.51.100.${3 - n}:51820` }],
    });
    const start = engine === 'wgp2p' ? startWgp2pTunnel : startWireguardGo;
    await start(a, side(ka, kb, 1));
    await start(b, side(kb, ka, 2));
    await a.exec('ping', ['-c', '1', '-W', '5', '10.78.0.2'], { timeoutMs: 15_000 });
    const fwd = await runIperf(a, b, '10.78.0.2', { seconds });
    const rev = await runIperf(a, b, '10.78.0.2', { seconds, reverse: true });
    return { engine, mbitPerSecond: fwd.bitsPerSecond / 1e6, reverseMbitPerSecond: rev.bitsPerSecond / 1e6 };
  } finally {
    await lab.destroy({ passing: true });
  }
}
