// Issue 5's classic mode: `wgp2p join --hub` on a public host forwards (decrypted) room traffic
// between members that have no direct path and no relay (here: two symmetric NATs and a server
// without its WebSocket relay). Their status says `relay` through `hub NAME`, pings and a
// checksummed transfer cross, and, the documented trade-off, the hub's TUN device carries the
// members' plaintext.
import t from 'tap';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRootOrSkip } from './lib/root.js';
import { pingCount } from './lib/join-agent.js';
import { createRoomLab } from './lib/room-lab.js';
import { waitPath } from './lib/relay-wait.js';
import { waitFor } from './lib/process.js';
import { tcpTransfer } from './lib/tcp-transfer.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping', 'tcpdump'], tun: true, probeName: 'hb-probe' };
const SECRET = 'hb-hub-secret-0123456789abcdef';
const MB = 1024 * 1024;

t.test('symmetric × symmetric through a classic hub', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const { lab, join: member } = await createRoomLab(t, { prefix: 'hb', room: 'hub', secret: SECRET, serverArgs: ['--no-ws-relay'] });
  const hubHost = await lab.publicHost('hub', '203.0.113.30');
  const hub = await member(hubHost, { name: 'hub1', ifname: 'hbz', args: ['--hub'] });
  t.equal((await hubHost.exec('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim(), '1', 'the hub turned on IPv4 forwarding in its namespace');
  const a = await member((await lab.site('sy1', 'symmetric')).hosts[0]!, { name: 'a', ifname: 'hba', args: ['--use-hub', 'hub1'] });
  const b = await member((await lab.site('sy2', 'symmetric')).hosts[0]!, { name: 'b', ifname: 'hbb', args: ['--use-hub', 'hub1'] });
  // Through the hub the two members never handshake with each other: wait on status alone.
  const hubbed = async () => {
    const [sa, sb] = [(await a.status()).peers.find((p) => p.name === 'b'), (await b.status()).peers.find((p) => p.name === 'a')];
    return sa?.relay === 'hub hub1' && sb?.relay === 'hub hub1' && sa.path === 'relay' ? [sa, sb] : undefined;
  };
  const [sa] = await waitFor(hubbed, { timeoutMs: 20_000, intervalMs: 250, what: 'both members routing through the hub' });
  t.pass(`both route through the hub (${sa.endpoint})`);
  const addrA = (await a.status()).self.address!;
  const addrB = (await b.status()).self.address!;
  t.equal(await pingCount(a.ns, addrB, 5), 5, 'a pings b through the hub');
  t.equal(await pingCount(b.ns, addrA, 5), 5, 'b pings a through the hub');

  // The trade-off: the hub's own TUN device sees the members' packets in the clear.
  const pcap = join(await mkdtemp(join(tmpdir(), 'wgp2p-hub-pcap-')), 'hub.pcap');
  const capture = hubHost.spawn('tcpdump', ['-Z', 'root', '--immediate-mode', '-n', '-U', '-i', 'hbz', '-w', pcap, 'icmp'], { name: 'hb.tcpdump' });
  await capture.waitForOutput(/listening on/, 10_000);
  await a.ns.exec('ping', ['-c', '3', '-i', '0.2', '-p', 'c0ffee15deadbeef', addrB], { allowFail: true });
  await new Promise((r) => setTimeout(r, 300));
  await capture.kill('SIGINT');
  t.ok((await readFile(pcap)).includes(Buffer.from('c0ffee15deadbeef', 'hex')), 'the hub sees the ping payload in plaintext (why relaying is the default)');

  const r = await tcpTransfer(a.ns, b.ns, addrB, { bytes: 5 * MB, timeoutMs: 60_000 });
  t.equal(r.receivedSha256, r.sentSha256, `5 MB through the hub intact (${((5 * 8) / r.seconds).toFixed(0)} Mbit/s)`);
  await waitPath(a, hub, 'a and the hub direct', (s) => s.path === 'direct', 5_000);
  await waitPath(b, hub, 'b and the hub direct', (s) => s.path === 'direct', 5_000);
  t.pass('the hub itself has direct paths to both');
});
