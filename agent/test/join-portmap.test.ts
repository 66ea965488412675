// The gateway's port mapping in the join agent, on the in-memory JoinNet: two members behind
// symmetric NATs are only relayed, until one's gateway maps its WireGuard port. The mapping is
// then a `portmap` candidate, announced; the other member reaches it directly through it; its
// loss is announced too; and closing the agent deletes it.
import t from 'tap';
import { sameEndpoint } from '../../shared/net/address.js';
import type { Route } from '../join/paths/arbiter.js';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';
import { JOIN_OPTIONS } from '../../cli/join.js';
import { loadOptions } from '../../shared/config/options.js';
import { reaches } from './fixtures/join-reach.js';

function route(at: JoinNode, of: JoinNode): Route | 'absent' {
  const m = at.agent.members.get(of.key.publicKey);
  return m ? at.agent.arbiters.route(m) : 'absent';
}

/** The portmap candidates `at` knows for `of` (from its announcements). */
function portmapOf(at: JoinNode, of: JoinNode) {
  return (at.agent.members.get(of.key.publicKey)?.candidates ?? []).filter((c) => c.kind === 'portmap');
}

t.test('a mapped port makes a symmetric pair direct; its loss is announced; close deletes it', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const a = await net.add('a', { nat: 'symmetric', portmap: true });
  const b = await net.add('b', { nat: 'symmetric' });
  const mapper = a.portmap!;
  t.equal(mapper.internalPort, a.inside.port, "started with the tunnel's listen port");
  t.ok((await net.until(() => route(a, b) === 'relay' && route(b, a) === 'relay', 20_000)) >= 0, 'no mapping yet: relayed');

  const mapped = mapper.grant();
  t.ok(a.agent.local.list().some((c) => c.kind === 'portmap' && sameEndpoint(c.endpoint, mapped)), 'a candidate of its own');
  t.equal(a.agent.control.status({ self: { name: undefined, publicKey: undefined, address: undefined, interface: 'x', listenPort: 1 }, peers: [], counters: {} }).self.portmap, `${mapped.address}:${mapped.port}`, 'status shows it');
  t.ok((await net.until(() => portmapOf(b, a).some((c) => sameEndpoint(c.endpoint, mapped)), 1_000)) >= 0, 'announced to b');
  t.ok((await net.until(() => route(a, b) === 'direct' && route(b, a) === 'direct', 30_000)) >= 0, 'direct both ways');
  const active = b.agent.members.get(a.key.publicKey)!.finder.active!;
  t.equal(active.kind, 'portmap', 'b reaches a through the mapping');
  t.ok(sameEndpoint(active.endpoint, mapped));
  t.ok(await reaches(net, a, b), 'a reaches b');
  t.ok(await reaches(net, b, a), 'b reaches a');

  mapper.lose();
  t.notOk(a.agent.local.list().some((c) => c.kind === 'portmap'), 'withdrawn from our candidates');
  t.ok((await net.until(() => portmapOf(b, a).length === 0, 1_000)) >= 0, 'the withdrawal is announced');
  t.ok((await net.until(() => route(a, b) === 'relay' && route(b, a) === 'relay', 60_000)) >= 0, 'relayed again');
  t.ok(await reaches(net, b, a), 'still reached, through the relay');

  const again = mapper.grant();
  t.ok((await net.until(() => route(b, a) === 'direct', 60_000)) >= 0, 'a new mapping: direct again');
  t.ok(sameEndpoint(b.agent.members.get(a.key.publicKey)!.finder.active!.endpoint, again), 'through the new mapping');
  net.close('a');
  t.ok(mapper.closed, 'the mapper was closed');
  t.equal(mapper.mapping, undefined, 'and the mapping deleted');
  t.equal(a.nat.forwards.size, 0, 'nothing forwarded any more');
});

t.test('--no-portmap, WGP2P_PORTMAP and the default', async (t) => {
  const portmap = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = loadOptions(JOIN_OPTIONS, argv, { env });
    return r.help ? undefined : r.values.portmap;
  };
  t.equal(portmap([]), true, 'on by default');
  t.equal(portmap(['--no-portmap']), false);
  t.equal(portmap([], { WGP2P_PORTMAP: 'false' }), false);
  t.equal(portmap(['--portmap'], { WGP2P_PORTMAP: 'false' }), true, 'the flag wins');
});
