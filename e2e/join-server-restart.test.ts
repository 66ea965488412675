// Issue 4: the signal server going away never breaks established tunnels. Two agents behind NATs
// link up; the server is killed (SIGKILL, as in a crash) and pings keep flowing both ways for 60
// s; when a new server comes up at the same address, both agents reconnect on their own (with
// their default backoff) and a third agent that joins then reaches both.
import t from 'tap';
import { requireRootOrSkip } from './lib/root.js';
import { waitFor } from './lib/process.js';
import { firstPing, pingCount, pingStream, startJoinAgent, startSignalServer } from './lib/join-agent.js';
import { aliceAndBob, createRoomLab, SERVER_IP } from './lib/room-lab.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping'], tun: true, probeName: 'js-probe' };
const SECRET = 'js-restart-secret-0123456789abcdef';
const DOWN_S = 60;

t.test('the signal server dies and comes back', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const room = await createRoomLab(t, { prefix: 'js', room: 'restart', secret: SECRET });
  const { lab, srv, server, base } = room;
  const [sa, sb, sc] = [await lab.site('a', 'port-restricted'), await lab.site('b', 'full-cone'), await lab.site('c', 'restricted-cone')];
  const { alice, aliceAddress, bob, bobAddress } = await aliceAndBob(room, sa.hosts[0]!, sb.hosts[0]!, 'js');
  t.equal(await pingCount(sa.hosts[0]!, bobAddress, 3), 3, 'linked');

  await server.process.kill('SIGKILL');
  t.pass('server killed');
  const [ab, ba] = await Promise.all([pingStream(sa.hosts[0]!, bobAddress, DOWN_S, 0.5), pingStream(sb.hosts[0]!, aliceAddress, DOWN_S, 0.5)]);
  t.comment(`alice -> bob ${ab.received}/${ab.sent}, longest silence ${ab.longestGapMs} ms; bob -> alice ${ba.received}/${ba.sent}, longest silence ${ba.longestGapMs} ms`);
  for (const [what, s] of [['alice -> bob', ab], ['bob -> alice', ba]] as const) {
    t.ok(s.sent >= DOWN_S * 2 - 2 && s.received >= s.sent - 1, `${what}: pings continue for ${DOWN_S} s without the server (${s.received}/${s.sent})`);
    t.ok(s.longestGapMs < 2_000, `${what}: never silent (longest ${s.longestGapMs} ms)`);
  }
  for (const a of [alice, bob]) {
    const s = await a.status();
    t.equal(s.peers.length, 1, `${a.name} still has its peer`);
    t.equal(s.peers[0]?.path, 'direct');
    t.ok(a.process.running);
  }

  const server2 = await startSignalServer(srv, SERVER_IP, 'server2');
  const backAt = Date.now();
  await waitFor(async () => {
    const [x, y] = await Promise.all([alice.status(), bob.status()]);
    return x.counters.signal_connects >= 2 && y.counters.signal_connects >= 2;
  }, { timeoutMs: 25_000, intervalMs: 250, what: 'both agents reconnecting' });
  t.pass(`both agents reconnected within ${Date.now() - backAt} ms of the server's return`);

  const pinging = [firstPing(sc.hosts[0]!, aliceAddress, 10_000), firstPing(sc.hosts[0]!, bobAddress, 10_000)];
  const carol = await startJoinAgent(sc.hosts[0]!, { ...base, server: server2.url, name: 'carol', ifname: 'jsc0' });
  const [toAlice, toBob] = await Promise.all(pinging);
  t.ok(toAlice - carol.startedAt < 5_000 && toBob - carol.startedAt < 5_000, `carol reaches alice after ${toAlice - carol.startedAt} ms and bob after ${toBob - carol.startedAt} ms`);
  const carolAddress = (await carol.status()).self.address!;
  t.equal(await pingCount(sa.hosts[0]!, carolAddress, 3), 3, 'alice reaches carol');
  t.equal(await pingCount(sb.hosts[0]!, carolAddress, 3), 3, 'bob reaches carol');
  t.equal(await pingCount(sa.hosts[0]!, bobAddress, 3), 3, 'alice and bob are still linked');
  const sc2 = await carol.status();
  t.strictSame(sc2.peers.map((p) => `${p.name} ${p.path}`).sort(), ['alice direct', 'bob direct'], 'carol: both direct');
});
