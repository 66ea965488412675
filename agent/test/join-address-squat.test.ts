// Room addresses on the in-memory JoinNet (fixtures/join-net.ts): the member that holds an
// address keeps it while it is alive. An insider with a lower key (ground, or just picked) that
// claims a victim's address, even with a backdated claim time, takes neither the address nor its
// route; a fixed --address never moves; newcomers that collide resolve alike on every member.
import t, { type Test } from 'tap';
import { parseAddress } from '../../shared/net/address.js';
import { keyBelow } from './fixtures/ground-key.js';
import { ADDRESS_CLAIM_SKEW_MS } from '../join/room/room-address.js';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';

/** The node whose peer `at` routes `address` to (undefined: none, or not a peer). */
function routedTo(at: JoinNode, address: string, nodes: readonly JoinNode[]): string | undefined {
  const peer = at.device.allowedIps.lookup(4, parseAddress(address).bytes);
  return nodes.find((n) => n !== at && peer && at.device.getPeer(n.key.publicKey) === peer)?.name;
}

function knowsAll(nodes: readonly JoinNode[]): boolean {
  return nodes.every((n) => nodes.every((o) => o === n || !!n.agent.members.get(o.key.publicKey)));
}

async function room(t: Test, names: string[], opts: Record<string, Parameters<JoinNet['add']>[1]> = {}) {
  const lines: string[] = [];
  const net = new JoinNet('squat', { logLevel: 'info', log: (l) => lines.push(l) });
  t.teardown(() => net.closeAll());
  const nodes: JoinNode[] = [];
  for (const n of names) nodes.push(await net.add(n, opts[n]));
  t.ok((await net.until(() => knowsAll(nodes), 10_000)) >= 0, 'everyone knows everyone');
  return { net, nodes, lines };
}

t.test('an insider with a lower key claiming a victim\'s address takes neither the address nor its route', async (t) => {
  const { net, nodes, lines } = await room(t, ['a', 'v', 'b']);
  const [a, v, b] = nodes as [JoinNode, JoinNode, JoinNode];
  const victim = v.agent.address;
  await net.run(ADDRESS_CLAIM_SKEW_MS + 10_000, 100); // the victim has held it a while
  // An honest agent with a ground key, simply started on the victim's address.
  const x = await net.add('x', { key: keyBelow(v.key.publicKey), address: victim });
  const all = [a, v, b, x];
  t.ok((await net.until(() => knowsAll(all) && x.agent.address !== victim, 10_000)) >= 0, 'the newcomer moves off');
  await net.run(3_000);
  t.equal(v.agent.address, victim, 'the victim keeps its address');
  for (const n of [a, b, x]) t.equal(routedTo(n, victim, all), 'v', `${n.name} routes it to the victim`);
  for (const n of [a, v, b]) t.equal(routedTo(n, x.agent.address, all), 'x', `${n.name} routes the newcomer's new address to it`);

  // The same insider, now a modified agent: claims the address again, backdated to the epoch.
  x.agent.own.address = victim;
  x.agent.own.since = 1;
  x.agent.signalling.announceUpdate();
  await net.run(5_000);
  t.equal(v.agent.address, victim, 'the victim still keeps it');
  for (const n of [a, b]) t.equal(routedTo(n, victim, all), 'v', `${n.name} still routes it to the victim`);
  t.equal(routedTo(v, victim, all), undefined, 'the victim routes its own address to no peer');
  t.ok(lines.some((l) => l.includes('claimed by another member') && l.includes(victim)), 'the contest is logged');
});

t.test('our own address is never routed to a peer, even when its claim wins', async (t) => {
  const { net, nodes } = await room(t, ['a', 'v']);
  const [a, v] = nodes as [JoinNode, JoinNode];
  // a claims v's address with an older time than v's own (as a clock far behind would): it wins
  // by the rule, v moves; while v holds it, no peer of v's gets it.
  const victim = v.agent.address;
  a.agent.own.address = victim;
  a.agent.own.since = v.agent.own.since - 1;
  a.agent.signalling.announceUpdate();
  let leaked = false;
  await net.until(() => {
    if (v.agent.address === victim && routedTo(v, victim, nodes)) leaked = true;
    return v.agent.address !== victim;
  }, 5_000, 2);
  t.notOk(leaked, 'while v held the address, v never routed it to a');
  t.not(v.agent.address, victim, 'v moved (a\'s claim was older)');
  await net.run(1_000);
  t.equal(routedTo(v, victim, nodes), 'a', 'once moved, the old address goes to its owner');
  t.equal(routedTo(a, v.agent.address, nodes), 'v');
});

t.test('a fixed --address is kept against a lower-keyed newcomer; between two fixed, the incumbent keeps it', async (t) => {
  const { net, nodes, lines } = await room(t, ['a', 'f'], { f: { address: '10.147.7.7', agent: { fixedAddress: true } } });
  const [a, f] = nodes as [JoinNode, JoinNode];
  await net.run(5_000);
  const n = await net.add('n', { key: keyBelow(f.key.publicKey), address: '10.147.7.7' });
  const all = [a, f, n];
  t.ok((await net.until(() => knowsAll(all) && n.agent.address !== '10.147.7.7', 10_000)) >= 0, 'the newcomer moves');
  await net.run(1_000);
  t.equal(f.agent.address, '10.147.7.7');
  for (const m of [a, n]) t.equal(routedTo(m, '10.147.7.7', all), 'f', `${m.name} routes the fixed address to f`);

  const g = await net.add('g', { key: keyBelow(f.key.publicKey), address: '10.147.7.7', agent: { fixedAddress: true } });
  const four = [...all, g];
  t.ok((await net.until(() => knowsAll(four), 10_000)) >= 0);
  await net.run(2_000);
  t.equal(g.agent.address, '10.147.7.7', 'a fixed address never moves');
  t.equal(f.agent.address, '10.147.7.7');
  for (const m of [a, n]) t.equal(routedTo(m, '10.147.7.7', four), 'f', `${m.name} routes it to the incumbent`);
  t.equal(routedTo(g, '10.147.7.7', four), undefined, 'g holds it on its own host: routed to no peer');
  t.ok(lines.some((l) => l.includes('our --address is held by another member') && l.includes('10.147.7.7')), 'the later one logs a clear error');
});

t.test('two newcomers on one address resolve the same way on every member', async (t) => {
  const { net, nodes } = await room(t, ['a', 'b', 'c']);
  const p = await net.add('p');
  const q = await net.add('q');
  const all = [...nodes, p, q];
  t.ok((await net.until(() => knowsAll(all), 10_000)) >= 0);
  // Both claim one address at the same instant: the lower key must win everywhere.
  const contested = '10.147.77.77';
  const since = net.clock.wallNow();
  for (const n of [p, q]) {
    n.agent.own.address = contested;
    n.agent.own.since = since;
    n.agent.signalling.announceUpdate();
  }
  const [win, lose] = Buffer.compare(p.key.publicKey, q.key.publicKey) < 0 ? [p, q] : [q, p];
  t.ok((await net.until(() => lose.agent.address !== contested, 5_000)) >= 0, 'the higher key moves');
  await net.run(2_000);
  t.equal(win.agent.address, contested);
  for (const n of all) if (n !== win) t.equal(routedTo(n, contested, all), win.name, `${n.name} routes it to ${win.name}`);
  for (const n of all) if (n !== lose) t.equal(routedTo(n, lose.agent.address, all), lose.name, `${n.name} routes the mover's new address`);
});

t.test('a member that restarts with its key gets its address back', async (t) => {
  const { net, nodes } = await room(t, ['a', 'v']);
  const [a, v] = nodes as [JoinNode, JoinNode];
  const before = v.agent.address;
  net.close('v');
  await net.run(2_000);
  t.notOk(a.agent.members.get(v.key.publicKey), 'v left');
  const again = await net.add('v2', { key: v.key });
  t.ok((await net.until(() => routedTo(a, before, [a, again]) === 'v2', 10_000)) >= 0, 'a routes the old address to the restarted member');
  t.equal(again.agent.address, before);
});

t.test('a member joining after an insider contested an address with a backdated claim routes it to neither, until the contest ends', async (t) => {
  const { net, nodes, lines } = await room(t, ['a', 'v']);
  const [a, v] = nodes as [JoinNode, JoinNode];
  const victim = v.agent.address;
  await net.run(ADDRESS_CLAIM_SKEW_MS + 10_000, 100);
  const x = await net.add('x', { key: keyBelow(v.key.publicKey) });
  t.ok((await net.until(() => knowsAll([a, v, x]), 10_000)) >= 0);
  // A modified agent claims the victim's address, backdated to the epoch.
  x.agent.own.address = victim;
  x.agent.own.since = 1;
  x.agent.signalling.announceUpdate();
  await net.run(3_000);
  t.equal(routedTo(a, victim, [a, v, x]), 'v', 'a saw the claim appear: the victim keeps it');
  // Now someone joins: both claims predate it, and x's signed time is the earlier.
  const late = await net.add('late');
  const all = [a, v, x, late];
  t.ok((await net.until(() => knowsAll(all), 10_000)) >= 0);
  await net.run(3_000);
  t.equal(routedTo(late, victim, all), undefined, 'the late joiner routes the contested address to neither');
  t.equal(routedTo(late, a.agent.address, all), 'a', 'uncontested addresses route as usual');
  t.ok(lines.some((l) => l.includes('routed to neither') && l.includes(victim)), 'and says why');
  net.close('x');
  t.ok((await net.until(() => routedTo(late, victim, [a, v, late]) === 'v', 5_000)) >= 0, 'once the insider leaves, the address goes to the victim');
  t.equal(v.agent.address, victim, 'the victim never moved');
});
