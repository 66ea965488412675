// `wgp2p up` with AllowedIPs = 0.0.0.0/0: a full tunnel to a wireguard-go exit, set up the way
// wg-quick sets it up (default route in table 51820, a rule for unmarked traffic, the engine's
// own datagrams marked 51820). The client reaches the exit's endpoint only through its default
// gateway, so the rule would swallow the tunnel's own datagrams if they were not marked; a host
// beyond the exit is reachable only through the tunnel. Table 51820 is taken by another tunnel's
// route, so ours is 51821 (as wg-quick picks); that tunnel's suppress rule survives our start and
// stop. While the rules stand, the fwmark cannot change. After SIGTERM our rules are gone.
//
//   client 192.0.2.1 ── 192.0.2.254 router 198.51.100.254 ── 198.51.100.2 exit 203.0.113.1 ── 203.0.113.50 far
import t from 'tap';
import { genKeyPair, startWireguardGo } from './lib/wireguard-go.js';
import { startWgp2pTunnel } from './lib/wgp2p-tunnel.js';
import { Lab, addAddress, addRoute, enableForwarding, vethPair } from './lib/netns.js';
import { pingCount as answered } from './lib/join-agent.js';
import { requireRootOrSkip } from './lib/root.js';

const NEEDS = { binaries: ['wireguard-go', 'wg', 'ping', 'node', 'ip'], tun: true };
const SUPPRESS = /from all lookup main suppress_prefixlength 0/g;

t.test('AllowedIPs 0.0.0.0/0 and ::/0: everything goes through the tunnel, the tunnel itself does not', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await Lab.create(t, { name: 'udr' });
  const client = await lab.netns('udr-client');
  const router = await lab.netns('udr-router');
  const exit = await lab.netns('udr-exit');
  const far = await lab.netns('udr-far');
  await vethPair(client, 'udr-c', router, 'udr-rc');
  await vethPair(router, 'udr-re', exit, 'udr-er');
  await vethPair(exit, 'udr-ef', far, 'udr-f');
  await addAddress(client, 'udr-c', '192.0.2.1/24');
  await addAddress(router, 'udr-rc', '192.0.2.254/24');
  await addAddress(router, 'udr-re', '198.51.100.254/24');
  await addAddress(exit, 'udr-er', '198.51.100.2/24');
  await addAddress(exit, 'udr-ef', '203.0.113.1/24');
  await addAddress(far, 'udr-f', '203.0.113.50/24');
  await addAddress(exit, 'udr-ef', '2001:db8:50::1/64');
  await addAddress(far, 'udr-f', '2001:db8:50::50/64');
  await enableForwarding(router);
  await enableForwarding(exit);
  await addRoute(client, 'default', '192.0.2.254');
  await addRoute(exit, '192.0.2.0/24', '198.51.100.254');
  await addRoute(far, '10.78.0.0/24', '203.0.113.1');
  await addRoute(far, 'fd78::/64', '2001:db8:50::1');
  t.equal(await answered(client, '203.0.113.50', 2), 0, 'before the tunnel, the far host is out of reach');
  // Another full tunnel's leftovers: a route in table 51820 and its suppress rule.
  await client.exec('ip', ['route', 'add', '198.51.100.0/24', 'via', '192.0.2.254', 'table', '51820']);
  await client.exec('ip', ['-4', 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0']);
  const rules = async () => (await client.exec('ip', ['-4', 'rule', 'show'])).stdout;
  t.equal((await rules()).match(SUPPRESS)?.length, 1);

  const kc = await genKeyPair();
  const ke = await genKeyPair();
  await startWireguardGo(exit, {
    ifname: 'udrwg1',
    privateKey: ke.privateKey,
    listenPort: 51821,
    address: ['10.78.0.2/24', 'fd78::2/64'],
    peers: [{ publicKey: kc.publicKey, allowedIps: ['10.78.0.1/32', 'fd78::1/128'] }],
  });
  const ours = await startWgp2pTunnel(client, {
    ifname: 'udrwg0',
    privateKey: kc.privateKey,
    listenPort: 51820,
    address: ['10.78.0.1/24', 'fd78::1/64'],
    peers: [{ publicKey: ke.publicKey, endpoint: '198.51.100.2:51821', allowedIps: ['0.0.0.0/0', '::/0'] }],
  });
  t.match(await rules(), /not from all fwmark 0xca6d lookup 51821/, 'table 51820 is taken: unmarked traffic looks up 51821');
  t.equal((await rules()).match(SUPPRESS)?.length, 2, 'our own copy of the suppress rule beside the other one');
  t.match((await client.exec('ip', ['-4', 'route', 'show', 'table', '51821'])).stdout, /^default dev udrwg0/m, 'table 51821: default into the tunnel');
  t.equal((await client.exec('wg', ['show', 'udrwg0', 'fwmark'])).stdout.trim(), '0xca6d', 'the engine marks its datagrams 51821');

  t.equal(await answered(client, '203.0.113.50', 5), 5, 'the far host answers through the tunnel');
  const rules6 = async () => (await client.exec('ip', ['-6', 'rule', 'show'])).stdout;
  t.match(await rules6(), /not from all fwmark 0xca6d lookup 51821/, 'IPv6: the same rule');
  t.match((await client.exec('ip', ['-6', 'route', 'show', 'table', '51821'])).stdout, /^default dev udrwg0/m, 'IPv6: default into the tunnel');
  t.equal(await answered(client, '2001:db8:50::50', 5), 5, 'the far host answers over IPv6 too, through the tunnel');
  t.equal(await answered(client, '10.78.0.2', 3), 3, 'so does the exit inside the tunnel');
  t.equal(await answered(client, '192.0.2.254', 2), 2, 'the LAN still goes straight');
  const peer = (await client.exec('wg', ['show', 'udrwg0', 'transfer'])).stdout;
  t.match(peer, /\t[1-9]\d*\t[1-9]\d*$/m, `the tunnel carried it (${peer.trim().split('\t').slice(1).join(' / ')} bytes)`);

  // Another mark would send the engine's own datagrams into the tunnel (e2e/engine-fwmark shows
  // that): refused while the rules stand, and the old mark stays.
  for (const mark of ['0', '51820']) {
    const r = await client.exec('wg', ['set', 'udrwg0', 'fwmark', mark], { allowFail: true });
    t.not(r.code, 0, `wg set fwmark ${mark} is refused`);
  }
  t.equal((await client.exec('wg', ['show', 'udrwg0', 'fwmark'])).stdout.trim(), '0xca6d', 'the mark is unchanged');
  t.equal(await answered(client, '203.0.113.50', 3), 3, 'and the tunnel works');

  await ours.stop();
  const after = await rules();
  t.notMatch(after, /51821/, 'SIGTERM removes our rule');
  t.notMatch(await rules6(), /51821|suppress_prefixlength/, 'and the IPv6 ones');
  t.equal(after.match(SUPPRESS)?.length, 1, 'and our copy of the suppress rule, not the other one');
  t.match((await client.exec('ip', ['-4', 'route', 'show', 'table', '51820'])).stdout, /198\.51\.100\.0\/24/, "the other tunnel's table is untouched");
  t.equal(await answered(client, '203.0.113.50', 2), 0, 'and the far host is out of reach again');
  t.equal(await answered(client, '192.0.2.254', 1), 1, 'the LAN still works');
});
