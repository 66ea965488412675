// Default routes through the tunnel: what is refused before anything touches the system (the
// routing itself is exercised for real in e2e/up-default-route.test.ts).
import t from 'tap';
import { routeDefaultThroughTunnel } from '../tun/default-route.js';

t.test('a reserved routing table is refused with a clear message', async (t) => {
  for (const table of [0, 253, 254, 255]) {
    await t.rejects(routeDefaultThroughTunnel('wg0', 4, table), /names a reserved routing table .*pick another FwMark/, `table ${table}`);
  }
  await t.rejects(routeDefaultThroughTunnel('bad name!', 4, 51820), /interface name/i, 'a bad interface name');
});
