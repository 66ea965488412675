// A poll error on our engine's UDP socket (forced through the test hook) does not cost the
// tunnel: the daemon logs one error line, reopens the socket on the same port with the same
// fwmark, and packets keep flowing both ways with wireguard-go.
import { constants } from 'node:os';
import t from 'tap';
import { controlRequest } from '../agent/daemon/control-client.js';
import { TEST_HOOKS_ENV } from '../agent/daemon/batch-udp-socket.js';
import { OURS, REF, startInteropPair } from './lib/interop-pair.js';
import { pingCount as answered } from './lib/join-agent.js';
import { requireRootOrSkip } from './lib/root.js';

const NEEDS = { binaries: ['wireguard-go', 'wg', 'ping', 'node', 'ip'], tun: true };
const MARK = 0x1234;
const WAIT_MS = 5000;
const { EIO } = constants.errno;
const FAILED_LINE = /^.*"level":"error".*"msg":"UDP socket failed; reopening it on the same port".*$/m;

t.test('after a UDP poll error the socket is reopened on the same port, marked, and the tunnel carries on', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const { nsOurs, nsRef, ours } = await startInteropPair(t, { tag: 'epe', initiator: 'ours', fwmark: MARK, env: { [TEST_HOOKS_ENV]: '1' } });
  t.equal(await answered(nsOurs, REF.inner, 3), 3, 'the tunnel works');

  t.same(await controlRequest(ours.ifname, { op: 'test-udp-poll-error', errno: EIO }), { injected: EIO });
  const [line] = await ours.process.waitForOutput(FAILED_LINE, WAIT_MS);
  t.match(JSON.parse(line) as unknown, { listenPort: OURS.port, error: `receiving on UDP port ${OURS.port} failed (EIO: Input/output error)` }, 'one clear error line');
  await ours.process.waitForOutput(/"msg":"UDP socket reopened","listenPort":51820/, WAIT_MS);

  t.equal(await answered(nsOurs, REF.inner, 5), 5, 'ours → wireguard-go: the new socket sends and receives');
  t.equal(await answered(nsRef, OURS.inner, 5), 5, 'wireguard-go → ours, to the same port');
  // wg-quick's full-tunnel rule: only a marked socket keeps our datagrams out of our own tunnel.
  await nsOurs.exec('ip', ['route', 'add', `${REF.outer}/32`, 'dev', ours.ifname, 'table', '51820']);
  await nsOurs.exec('ip', ['rule', 'add', 'not', 'fwmark', `0x${MARK.toString(16)}`, 'table', '51820', 'priority', '100']);
  t.equal(await answered(nsOurs, REF.inner, 5), 5, 'the new socket carries the fwmark');

  t.ok(ours.process.running, 'the daemon still runs');
  const all = (ours.process.stderr + ours.process.stdout).split('\n').filter((l) => FAILED_LINE.test(l));
  t.equal(all.length, 1, 'the error was logged once');
});
