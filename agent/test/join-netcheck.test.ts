// `wgp2p netcheck` against a real server in this process, on loopback (no NAT: the mapping is
// the socket itself, nothing is filtered and "hairpinning" trivially works), and against a
// server that does not answer.
import t from 'tap';
import { netcheck } from '../join/nat/netcheck.js';
import { startTestServer } from '../../signal-server/test/helpers.js';

/** The gateway probe is agent/portmap's (tested there); here only its place in the report. */
const GATEWAY = { gateway: '192.0.2.1', pcp: true, natpmp: false, upnp: true };
const probePortmap = async () => GATEWAY;

t.test('a full report from a server with an alternate STUN port', async (t) => {
  const server = await startTestServer({ stunPort: 0, stunAltPort: 0, stunPublicIp: '127.0.0.1' });
  t.teardown(() => server.close());
  const r = await netcheck(server.url, server.stun!.port, { probePortmap });
  t.match(r.mapped, /^127\.0\.0\.1:\d+$/, `mapped ${r.mapped}`);
  t.equal(r.mappedAlt, r.mapped, 'the same mapping toward the alternate port');
  t.equal(r.mapping, 'endpoint-independent');
  t.equal(r.filtering, 'port-independent');
  t.equal(r.hairpinning, true);
  t.ok(r.latency.stunMs !== undefined && r.latency.stunMs < 1000, `STUN ${r.latency.stunMs} ms`);
  t.ok(r.latency.websocketMs !== undefined && r.latency.websocketMs < 2000, `WebSocket ${r.latency.websocketMs} ms`);
  t.strictSame(r.portmap, GATEWAY, 'the protocols the gateway speaks');
  t.strictSame(r.problems, []);
});

t.test('no alternate port, then no server at all: problems in words, no throw', async (t) => {
  const server = await startTestServer({ stunPort: 0 });
  const plain = await netcheck(server.url, server.stun!.port, { probePortmap });
  t.ok(plain.mapped);
  t.equal(plain.mapping, 'unknown');
  t.match(plain.problems.join('\n'), /no alternate STUN port/);
  const port = server.stun!.port;
  await server.close();
  const none = await netcheck(server.url, port, { probePortmap: () => Promise.reject(new Error('no route')) });
  t.equal(none.mapped, undefined);
  t.equal(none.portmap.gateway, undefined, 'a failed gateway probe reads as no gateway');
  t.match(none.problems.join('\n'), /no STUN answer[\s\S]*no welcome/);
});
