// Room names across a JoinNet room: every member answers the same for a clash (the lower key keeps
// "bob", the other is "bob-2"), and a departed member's name stops resolving on every member.
import t from 'tap';
import dnsPacket from 'dns-packet';
import { JoinNet, type JoinNode } from './fixtures/join-net.js';
import type { DnsHandlers, DnsPort } from '../join/names/dns-port.js';
import { decodeDns } from '../join/names/dns-answer.js';
import { formatKey } from '../../shared/keys.js';

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

t.test('names resolve the same on every member, and a departed member\'s stops', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const add = async (id: string, name: string) => {
    const port = fakeDns();
    const n = await net.add(id, { dns: port, agent: { name, names: { domain: 'office' } } });
    dns.set(n, port);
    return n;
  };
  const alice = await add('alice', 'alice');
  const b1 = await add('b1', 'bob');
  const b2 = await add('b2', 'bob');
  const all = [alice, b1, b2];
  await net.until(() => all.every((n) => n.agent.members.size === 2), 10_000);
  await net.run(1_100); // past the answer cache
  // The name table orders members by their base64 key text (name-table.ts), not by key bytes.
  const [keeper, other] = formatKey(b1.key.publicKey) < formatKey(b2.key.publicKey) ? [b1, b2] : [b2, b1];
  for (const n of all) {
    t.same(resolve(n, 'bob.office'), [keeper.agent.address], `${n.name}: bob.office is the lower key's`);
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
