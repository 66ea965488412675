// Issue 5: a member whose network blocks UDP reaches a member behind a port-restricted NAT
// through the signal server's WebSocket relay (the server also runs its UDP relay with --relay:
// the other member may reach the server that way, and the server bridges the two transports).
// Pings and a checksummed transfer cross; status says `relay` through `ws`; the server's
// /metrics count the relayed packets.
import t from 'tap';
import { requireRootOrSkip } from './lib/root.js';
import { pingCount, type JoinPeerStatus } from './lib/join-agent.js';
import { createRoomLab, SERVER_IP } from './lib/room-lab.js';
import { waitFor } from './lib/process.js';
import { tcpTransfer } from './lib/tcp-transfer.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping'], tun: true, probeName: 'rw-probe' };
const SECRET = 'rw-relay-secret-0123456789abcdef';
const MB = 1024 * 1024;

t.test('udp-blocked × port-restricted: through the server', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const { lab, srv, join } = await createRoomLab(t, { prefix: 'rw', room: 'ws-relay', secret: SECRET, serverArgs: ['--relay'] });
  const blocked = await lab.site('ub', 'udp-blocked');
  const pr = await lab.site('pr', 'port-restricted');
  const a = await join(blocked.hosts[0]!, { name: 'blocked', ifname: 'rwa' });
  const b = await join(pr.hosts[0]!, { name: 'restricted', ifname: 'rwb' });
  let last: (JoinPeerStatus | undefined)[] = [];
  await waitFor(
    async () => {
      last = [(await a.status()).peers.find((p) => p.name === 'restricted'), (await b.status()).peers.find((p) => p.name === 'blocked')];
      return last[0]?.path === 'relay' && last[0].relay === 'ws' && last[1]?.path === 'relay' && last[0].lastHandshake !== undefined;
    },
    { timeoutMs: 20_000, intervalMs: 250, what: 'a relayed path through the server' },
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify(last)}`);
  });
  t.equal(last[0]?.relay, 'ws', 'the UDP-blocked member relays over its WebSocket');
  t.match(last[1]?.relay, /^(ws|server)$/, `the other member relays through the server (${last[1]?.relay})`);
  const addrA = (await a.status()).self.address!;
  const addrB = (await b.status()).self.address!;
  t.equal(await pingCount(a.ns, addrB, 5), 5, 'blocked pings restricted');
  t.equal(await pingCount(b.ns, addrA, 5), 5, 'restricted pings blocked');
  const r = await tcpTransfer(b.ns, a.ns, addrA, { bytes: 10 * MB, timeoutMs: 90_000 });
  t.equal(r.receivedSha256, r.sentSha256, `10 MB arrived intact (${((10 * 8) / r.seconds).toFixed(0)} Mbit/s)`);
  const metrics = (await srv.exec('node', ['-e', `fetch('http://${SERVER_IP}:8080/metrics').then((r) => r.text()).then((s) => process.stdout.write(s))`])).stdout;
  const ws = Number(/^wgp2p_relayed_packets_total\{via="ws"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
  t.ok(ws > 5_000, `the server counts packets relayed over WebSocket (${ws})`);
  t.match(metrics, /^wgp2p_relayed_bytes_total\{via="ws"\} [1-9]\d*/m, 'and their bytes');
});
