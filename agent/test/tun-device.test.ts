// TUN device layer. Input checks run anywhere; everything touching the kernel
// runs in fixtures/tun-netns-child.ts, spawned as a tap subprocess inside a
// fresh network namespace (`ip netns exec NS node <our loader flags> child.ts`),
// so no interface, address or route ever appears on the host. Needs root;
// skipped with the reason otherwise, but fails under CI=true.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { TunDevice } from '../tun/tun-device.js';
import { addAddress, addRoute } from '../tun/link-config.js';
import { Netns } from '../../e2e/lib/netns.js';
import { requireRootOrSkip } from '../../e2e/lib/root.js';

const CHILD = fileURLToPath(new URL('./fixtures/tun-netns-child.ts', import.meta.url));

t.test('bad names and MTUs are refused before touching the kernel', async (t) => {
  t.throws(() => TunDevice.open({ name: 'sixteen-chars-xx', mtu: 1420 }), /invalid interface name "sixteen-chars-xx": it must be 1 to 15 bytes long/);
  t.throws(() => TunDevice.open({ name: '', mtu: 1420 }), /1 to 15 bytes/);
  t.throws(() => TunDevice.open({ name: 'a/b', mtu: 1420 }), /must not .* contain "\/"/);
  t.throws(() => TunDevice.open({ name: 'a b', mtu: 1420 }), /whitespace/);
  t.throws(() => TunDevice.open({ name: 42 as unknown as string, mtu: 1420 }), TypeError);
  t.throws(() => TunDevice.open({ name: 'wgtun9', mtu: 20 }), /invalid MTU 20 for wgtun9: it must be an integer from 68 to 65535/);
  t.throws(() => TunDevice.open({ name: 'wgtun9', mtu: 1420.5 }), /invalid MTU/);
  t.throws(() => TunDevice.open({ name: 'wgtun9', mtu: 70000 }), /invalid MTU/);
  t.throws(() => TunDevice.open(undefined as unknown as { name: string; mtu: number }), /needs \{ name, mtu \}/);
});

t.test('link-config refuses bad input without running ip', async (t) => {
  await t.rejects(addAddress('wg0', '10.0.0.1/24/3'), /invalid address "10\.0\.0\.1\/24\/3"/);
  await t.rejects(addAddress('wg0', 'fd00::1/129'), /invalid address/);
  await t.rejects(addRoute('wg0', '10.0.0.0/x'), /invalid address/);
  await t.rejects(addRoute('sixteen-chars-xx', '10.0.0.0/8'), /invalid interface name/);
  await t.rejects(addAddress('wg0', 17 as unknown as string), TypeError);
});

t.test('in a network namespace', async (t) => {
  if (!(await requireRootOrSkip(t, { tun: true, probeName: `wgtunprobe-${process.pid}` }))) return;
  const ns = await Netns.create(`wgtun-test-${process.pid}`);
  // Netns.delete kills whatever is left inside, so a hung child cannot leak the namespace.
  t.teardown(() => ns.delete());
  const onExit = () => ns.deleteNow();
  process.once('exit', onExit);
  t.teardown(() => void process.off('exit', onExit));

  // Same node flags as this process: they carry tap's TypeScript loader.
  await t.spawn(
    'ip',
    ['netns', 'exec', ns.name, process.execPath, ...process.execArgv, CHILD],
    { env: { ...process.env, WGTUN_NETNS: ns.name }, timeout: 60_000 },
    'TUN tests inside the namespace',
  );
});
