// Room names across a JoinNet room: every member answers the same for a clash (the earlier claim
// keeps "bob", the other is "bob-2"), and a departed member's name stops resolving on every member.
// An insider with a ground lower key, even backdating its claim, does not take a name held before.
import t from 'tap';
import dnsPacket from 'dns-packet';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';
import type { DnsHandlers, DnsPort } from '../join/names/dns-port.js';
import { decodeDns } from '../join/names/dns-answer.js';
import { ADDRESS_CLAIM_SKEW_MS } from '../join/room/room-address.js';
import { keyBelow } from './fixtures/ground-key.js';

/** In-memory DNS sockets: the handlers the agent listens with. */
function fakeDns(): DnsPort & { handlers?: DnsHandlers } {
  const port: DnsPort & { handlers?: DnsHandlers } = {
    listen: async (_address, _port, handlers) => {
      port.handlers = handlers;
      return { close: () => undefined };
    },
  };
  return port;
}

const dns = new Map<JoinNode, ReturnType<typeof fakeDns>>();

/** The A answers `n` gives for `name` (undefined for no answer, [] for none). */
function resolve(n: JoinNode, name: string): string[] | undefined {
  const q = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name, class: 'IN' }] });
  const r = dns.get(n)!.handlers!.udp(q, '10.147.200.1');
  const d = r && decodeDns(r);
  return d?.answers?.map((a) => ('data' in a ? String(a.data) : ''));
}

async function addNamed(net: JoinNet, id: string, name: string, key?: JoinNode['key']): Promise<JoinNode> {
  const port = fakeDns();
  const n = await net.add(id, { dns: port, ...(key && { key }), agent: { name, names: { domain: 'office' } } });
  dns.set(n, port);
  return n;
}

t.test('names resolve the same on every member, and a departed member\'s stops', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const add = (id: string, name: string) => addNamed(net, id, name);
  const alice = await add('alice', 'alice');
  const b1 = await add('b1', 'bob');
  const b2 = await add('b2', 'bob');
  const all = [alice, b1, b2];
  await net.until(() => all.every((n) => n.agent.members.size === 2), 10_000);
  await net.run(1_100); // past the answer cache
  // b1 announced "bob" first (name-table.ts: the earlier claim keeps a name, whatever the keys).
  t.ok(b1.agent.signalling.self.since < b2.agent.signalling.self.since, 'b1 claimed first');
  const [keeper, other] = [b1, b2];
  for (const n of all) {
    t.same(resolve(n, 'bob.office'), [keeper.agent.address], `${n.name}: bob.office is the earlier claim's`);
    t.same(resolve(n, 'bob-2.office'), [other.agent.address], `${n.name}: bob-2.office is the other`);
    t.same(resolve(n, 'alice.office'), [alice.agent.address]);
  }
  net.close(other.name);
  await net.until(() => [alice, keeper].every((n) => n.agent.members.size === 1), 5_000);
  await net.run(1_100);
  for (const n of [alice, keeper]) {
    t.same(resolve(n, 'bob-2.office'), [], `${n.name}: bob-2.office no longer resolves`);
    t.same(resolve(n, 'bob.office'), [keeper.agent.address], `${n.name}: bob.office still does`);
  }
});

t.test('an insider with a lower key announcing a member\'s name later does not get it, even backdated', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const alice = await addNamed(net, 'alice', 'alice');
  const bob = await addNamed(net, 'bob', 'bob');
  await net.until(() => alice.agent.members.size === 1 && bob.agent.members.size === 1, 10_000);
  await net.run(ADDRESS_CLAIM_SKEW_MS + 10_000, 100); // bob has held its name a while
  // Lower in key bytes and in key text: it would win any key tie-breaker.
  const x = await addNamed(net, 'x', 'bob', keyBelow(bob.key.publicKey));
  const late = await addNamed(net, 'late', 'carol'); // joins after both claims: believes the signed times
  const all = [alice, bob, x, late];
  await net.until(() => all.every((n) => n.agent.members.size === 3), 10_000);
  await net.run(1_100); // past the answer cache
  for (const n of all) {
    t.same(resolve(n, 'bob.office'), [bob.agent.address], `${n.name}: bob.office stays bob's`);
    t.same(resolve(n, 'bob-2.office'), [x.agent.address], `${n.name}: the insider is bob-2`);
  }
  // Now a modified agent: it signs a claim time at the epoch.
  x.agent.signalling.self.since = 1;
  x.agent.signalling.announceUpdate();
  await net.run(5_000);
  for (const n of [alice, bob]) t.same(resolve(n, 'bob.office'), [bob.agent.address], `${n.name}: a backdated claim seen appearing does not take it`);
  // The late joiner has no history of x's claim: it believes the signed time (the README's limit).
});
