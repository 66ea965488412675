// Issue 4's recovery rules beyond NAT rebinding: a machine that sleeps (its agent frozen with
// SIGSTOP while its router forgets the mappings, as a router does when a laptop is gone for a
// while) re-discovers and re-punches when it wakes; a host whose LAN address changes (a new
// DHCP lease, another Wi-Fi) re-announces and re-punches. Both links come back by themselves.
import t from 'tap';
import { requireRootOrSkip } from './lib/root.js';
import { pingCount } from './lib/join-agent.js';
import { createRoomLab } from './lib/room-lab.js';
import { waitPath } from './lib/relay-wait.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping'], tun: true, probeName: 'sw-probe' };
const SECRET = 'sw-sleep-secret-0123456789abcdef';

t.setTimeout(240_000);

t.test('sleep/wake and a new LAN address', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  // STUN on other ports than the agents' default: they must learn them from the server's welcome
  // (the pair below punches through port-restricted NATs, which needs the STUN-mapped addresses).
  const { lab, join } = await createRoomLab(t, { prefix: 'sw', room: 'sleepy', secret: SECRET, serverArgs: ['--stun-port', '3490', '--stun-alt-port', '3491'] });
  const sa = await lab.site('a', 'port-restricted');
  const sb = await lab.site('b', 'port-restricted');
  const a = await join(sa.hosts[0]!, { name: 'a', ifname: 'swa' });
  const b = await join(sb.hosts[0]!, { name: 'b', ifname: 'swb' });
  await waitPath(a, b, 'direct', (s) => s.path === 'direct', 10_000);
  t.pass('direct: the agents found STUN on the port the server announced');
  const addrB = (await b.status()).self.address!;

  await t.test('sleep: frozen 20 s while the router forgets; back by itself after waking', async (t) => {
    const pid = a.process.pid!;
    process.kill(-pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 10_000));
    await lab.flushConntrack(sa);
    await new Promise((r) => setTimeout(r, 10_000));
    process.kill(-pid, 'SIGCONT');
    const wokeAt = Date.now();
    await a.process.waitForOutput(/woke up after a pause/, 5_000);
    t.pass('the agent noticed the pause');
    await waitPath(a, b, 'direct again', (s) => s.path === 'direct', 30_000);
    t.equal(await pingCount(a.ns, addrB, 3), 3, `pings cross again (direct ${((Date.now() - wokeAt) / 1000).toFixed(1)} s after waking)`);
  });

  await t.test('a new LAN address: re-announced, re-punched', async (t) => {
    const host = sa.hosts[0]!;
    const lines = (await host.exec('ip', ['-o', '-4', 'addr', 'show', 'scope', 'global'])).stdout.trim().split('\n');
    const line = lines.find((l) => !l.includes(` ${a.ifname} `)) ?? '';
    const m = /^\d+: (\S+)\s+inet (\d+\.\d+\.\d+)\.(\d+)\/(\d+)/.exec(line);
    if (!m) throw new Error(`no IPv4 address on ${host.name}: ${line}`);
    const [, dev, net, last, bits] = m;
    const seenBefore = (await b.status()).peers.find((p) => p.name === 'a')?.endpoint;
    const fresh = `${net}.${Number(last) + 50}`;
    await host.ip(['addr', 'add', `${fresh}/${bits}`, 'dev', dev!]);
    await host.exec('sysctl', ['-w', `net.ipv4.conf.${dev}.promote_secondaries=1`]);
    await host.ip(['addr', 'del', `${net}.${last}/${bits}`, 'dev', dev!]);
    // The default route went with the old address: put it back through the router.
    await host.ip(['route', 'replace', 'default', 'via', `${net}.1`]);
    const changedAt = Date.now();
    await a.process.waitForOutput(new RegExp(`host addresses changed.*lan ${fresh.replace(/\./g, '\\.')}:`), 15_000);
    t.pass('the agent saw its new address and re-announced it');
    // A new direct path: b now reaches a at a new public mapping (the old path is gone with the address).
    const [, sB] = await waitPath(a, b, 'a new direct path', (s) => s.path === 'direct' && (s.name !== 'a' || s.endpoint !== seenBefore), 30_000);
    t.not(sB.endpoint, seenBefore, `b reaches a at a new mapping (${seenBefore} → ${sB.endpoint})`);
    t.equal(await pingCount(a.ns, addrB, 3), 3, `pings cross again (${((Date.now() - changedAt) / 1000).toFixed(1)} s after the change)`);
  });
});
