// Two namespaces joined by one veth link on the fake internet, the first end at 198.51.100.1/24
// and the second at .2: the start of the two-host tests and benches that need no NAT.
import { addAddress, vethPair, type Lab, type Netns } from './netns.js';

/** The two ends' addresses on the link. */
export const LINK_ADDRESSES = ['198.51.100.1', '198.51.100.2'] as const;

/**
 * Creates namespaces `names` in `lab` and the link between them; each end's interface is named
 * as its namespace unless `ifnames` says otherwise.
 */
export async function linkedPair(lab: Lab, names: [string, string], ifnames: [string, string] = names): Promise<[Netns, Netns]> {
  const ends = [await lab.netns(names[0]), await lab.netns(names[1])] as [Netns, Netns];
  await vethPair(ends[0], ifnames[0], ends[1], ifnames[1]);
  await addAddress(ends[0], ifnames[0], `${LINK_ADDRESSES[0]}/24`);
  await addAddress(ends[1], ifnames[1], `${LINK_ADDRESSES[1]}/24`);
  return ends;
}
