// Issue 4's IPv6 candidates: two members whose hosts also have IPv6 addresses (2001:db8::/32, the
// documentation prefix, on the lab's internet) while IPv4 UDP between them is filtered. Their only
// direct path is IPv6: they must announce their IPv6 host addresses, punch over IPv6 on the same
// WireGuard socket, and carry the tunnel there.
import t from 'tap';
import { requireRootOrSkip } from './lib/root.js';
import { pingCount } from './lib/join-agent.js';
import { createRoomLab } from './lib/room-lab.js';
import { waitPath } from './lib/relay-wait.js';
import type { Netns } from './lib/netns.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping'], tun: true, probeName: 'v6-probe' };
const SECRET = 'v6-ipv6-secret-0123456789abcdef';

/** Drops IPv4 UDP from `peer` on `ns`: only IPv6 (and the signal server) remain between them. */
async function blockIpv4UdpFrom(ns: Netns, peer: string): Promise<void> {
  await ns.exec('nft', ['-f', '-'], {
    input: `table inet v6test {\n  chain in {\n    type filter hook input priority 0; policy accept;\n    ip saddr ${peer} meta l4proto udp drop\n  }\n}\n`,
  });
}

t.test('two members reach each other over IPv6 only', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const { lab, join } = await createRoomLab(t, { prefix: 'v6', room: 'six', secret: SECRET });
  const p1 = await lab.publicHost('p1', '203.0.113.31');
  const p2 = await lab.publicHost('p2', '203.0.113.32');
  // The lab turns IPv6 off everywhere (it models IPv4 NATs); these two hosts get it back.
  for (const ns of [p1, p2]) await ns.exec('sysctl', ['-w', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.disable_ipv6=0', 'net.ipv6.conf.eth0.disable_ipv6=0', 'net.ipv6.conf.lo.disable_ipv6=0']);
  await p1.ip(['-6', 'addr', 'add', '2001:db8:113::31/64', 'dev', 'eth0', 'nodad']);
  await p2.ip(['-6', 'addr', 'add', '2001:db8:113::32/64', 'dev', 'eth0', 'nodad']);
  await blockIpv4UdpFrom(p1, '203.0.113.32');
  await blockIpv4UdpFrom(p2, '203.0.113.31');
  t.equal(await pingCount(p1, '2001:db8:113::32', 2, 0.2), 2, 'the hosts reach each other over IPv6');

  const a = await join(p1, { name: 'a', ifname: 'v6a' });
  const b = await join(p2, { name: 'b', ifname: 'v6b' });
  const [sa, sb] = await waitPath(a, b, 'a direct path', (s) => s.path === 'direct', 15_000);
  t.equal(sa.endpoint, `[2001:db8:113::32]:${(await b.status()).self.listenPort}`, `a reaches b at its IPv6 address (${sa.endpoint})`);
  t.match(sb.endpoint, /^\[2001:db8:113::31\]:\d+$/, `b reaches a at its IPv6 address (${sb.endpoint})`);
  const addrB = (await b.status()).self.address!;
  const addrA = (await a.status()).self.address!;
  t.equal(await pingCount(a.ns, addrB, 5), 5, 'a pings b through the tunnel over IPv6');
  t.equal(await pingCount(b.ns, addrA, 5), 5, 'b pings a');
});
