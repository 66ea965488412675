// TUN offloads against the real kernel, inside a throw-away network namespace (the child file
// does the work, as tun-device.test.ts does): large segments the kernel hands over are cut into
// valid packets, and joined segments we write are accepted by its TCP. Needs root.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Netns } from '../../e2e/lib/netns.js';
import { requireRootOrSkip } from '../../e2e/lib/root.js';

const CHILD = fileURLToPath(new URL('./fixtures/tun-offload-netns-child.ts', import.meta.url));

t.test('in a network namespace', async (t) => {
  if (!(await requireRootOrSkip(t, { tun: true, probeName: `wgoffprobe${process.pid % 10000}` }))) return;
  const ns = await Netns.create(`wgoff-test-${process.pid}`);
  t.teardown(() => ns.delete());
  const onExit = () => ns.deleteNow();
  process.once('exit', onExit);
  t.teardown(() => void process.off('exit', onExit));
  await t.spawn('ip', ['netns', 'exec', ns.name, process.execPath, ...process.execArgv, CHILD], { env: { ...process.env, WGTUN_NETNS: ns.name }, timeout: 60_000 }, 'TUN offload tests inside the namespace');
});
