// A flat network with no NAT: one bridge in PREFIX-sw and one namespace per host, the first at
// 198.51.100.10, the next at .11 and so on. For tests about the agent itself rather than NAT
// traversal (join-basic, join-dns).
import { Lab, addAddress, addBridge, vethPair, type Netns } from './netns.js';
import type { TestLike } from './root.js';

/** Host i (in the order of `names`) gets SUBNET.(FIRST_HOST + i). */
const SUBNET = '198.51.100';
const FIRST_HOST = 10;

/**
 * Creates namespaces PREFIX-NAME for every name, bridged on PREFIX-sw (bridge PREFIXbr), and
 * returns them in the same order. The lab (log directory `labName`) cleans up when `t` ends.
 */
export async function plainLan(t: TestLike, o: { prefix: string; labName: string; names: readonly string[] }): Promise<Netns[]> {
  const lab = await Lab.create(t, { name: o.labName });
  const sw = await lab.netns(`${o.prefix}-sw`);
  const bridge = `${o.prefix}br`;
  await addBridge(sw, bridge);
  return Promise.all(
    o.names.map(async (name, i) => {
      const ns = await lab.netns(`${o.prefix}-${name}`);
      await vethPair(ns, 'eth0', sw, `${o.prefix}-p-${name}`);
      await sw.ip(['link', 'set', `${o.prefix}-p-${name}`, 'master', bridge]);
      await addAddress(ns, 'eth0', `${SUBNET}.${FIRST_HOST + i}/24`);
      return ns;
    }),
  );
}
