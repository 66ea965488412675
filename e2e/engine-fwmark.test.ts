// fwmark on our engine's UDP socket (SO_MARK), from the config file and from `wg set`, as
// wg-quick uses it for a full tunnel: a rule sends everything unmarked to a table that routes the
// peer's outer address into the tunnel itself, so only the mark keeps the engine's own encrypted
// datagrams out of its tunnel. Without the mark the link must break; with it, it must work.
import t from 'tap';
import { REF, startInteropPair } from './lib/interop-pair.js';
import { pingCount as answered } from './lib/join-agent.js';
import { requireRootOrSkip } from './lib/root.js';

const NEEDS = { binaries: ['wireguard-go', 'wg', 'ping', 'node', 'ip'], tun: true };
const MARK = 0x1234;

t.test('the fwmark keeps our own datagrams out of a full tunnel; wg set changes it live', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const { nsOurs, ours } = await startInteropPair(t, { tag: 'efm', initiator: 'ours', fwmark: MARK });
  const fwmark = async () => (await nsOurs.exec('wg', ['show', ours.ifname, 'fwmark'])).stdout.trim();
  t.equal(await fwmark(), '0x1234', 'FwMark from the file: wg show reports it');
  t.equal(await answered(nsOurs, REF.inner, 3), 3, 'the tunnel works');

  // wg-quick's full-tunnel shape: unmarked traffic looks up a table where the peer's outer
  // address goes into the tunnel.
  await nsOurs.exec('ip', ['route', 'add', `${REF.outer}/32`, 'dev', ours.ifname, 'table', '51820']);
  await nsOurs.exec('ip', ['rule', 'add', 'not', 'fwmark', `0x${MARK.toString(16)}`, 'table', '51820', 'priority', '100']);
  t.equal(await answered(nsOurs, REF.inner, 5), 5, 'marked datagrams skip the rule: the tunnel still works');

  await nsOurs.exec('wg', ['set', ours.ifname, 'fwmark', '0']);
  t.equal(await fwmark(), 'off', 'wg set fwmark 0 clears it');
  t.equal(await answered(nsOurs, REF.inner, 5), 0, 'unmarked, our datagrams loop into our own tunnel: nothing gets through');

  await nsOurs.exec('wg', ['set', ours.ifname, 'fwmark', `0x${MARK.toString(16)}`]);
  t.equal(await fwmark(), '0x1234');
  t.equal(await answered(nsOurs, REF.inner, 5), 5, 'marked again with wg set: back at once');

  // A new listen port gets a new socket: it must carry the mark too.
  await nsOurs.exec('wg', ['set', ours.ifname, 'listen-port', '51830']);
  t.equal(await answered(nsOurs, REF.inner, 5), 5, 'the rebound socket is marked as well');
});
