// The relay's forwarding core, driven with explicit time and fake endpoints: binding and auth,
// forwarding and its checks, UNREACHABLE pacing, other delivery paths, rebinding, expiry, the
// binding limit, per-member byte budgets and unbinding.
import t, { type Test } from 'tap';
import { formatEndpoint, makeEndpoint, type Endpoint } from '../net/address.js';
import { RelaySwitch, type Datagram, type RelayLimits, type RelayPolicy } from '../relay/relay-switch.js';
import {
  decodeRelayPacket,
  encodeBind,
  encodeBound,
  encodeData,
  encodeUnreachable,
  RELAY_BOUND,
  RELAY_CHALLENGE,
  RELAY_DATA,
  RELAY_UNREACHABLE,
  type RelayPacket,
} from '../wire/relay.js';

const A1 = makeEndpoint('192.0.2.10', 40001);
const A2 = makeEndpoint('192.0.2.10', 40002);
const B1 = makeEndpoint('198.51.100.20', 51820);
const C1 = makeEndpoint('198.51.100.30', 51820);
const D1 = makeEndpoint('192.0.2.40', 12345);

/** The address group of members that reach the relay over the server's WebSocket. */
const WS_GROUP = '203.0.113.50/32';

const authFor = (id: string) => Buffer.from(`ok:${id}`);

interface FakePolicy extends RelayPolicy {
  authorized: [string, string, number][];
  forwardAsked: [string, string][];
  elsewhere: [string, string, Buffer][];
  /** Pairs "from>to" that may not talk. */
  deny: Set<string>;
  /** Ids deliverElsewhere accepts; undefined leaves deliverElsewhere out of the policy. */
  elsewhereIds?: Set<string>;
}

function policy(opts: { elsewhere?: string[] } = {}): FakePolicy {
  const p: FakePolicy = {
    authorized: [],
    forwardAsked: [],
    elsewhere: [],
    deny: new Set(),
    authorize(id, auth, now) {
      p.authorized.push([id, auth.toString(), now]);
      return auth.equals(authFor(id));
    },
    mayForward(from, to) {
      p.forwardAsked.push([from, to]);
      return !p.deny.has(`${from}>${to}`);
    },
  };
  if (opts.elsewhere) {
    p.elsewhereIds = new Set(opts.elsewhere);
    p.deliverElsewhere = (from, to, payload) => {
      p.elsewhere.push([from, to, payload]);
      return p.elsewhereIds!.has(to);
    };
  }
  return p;
}

let txidCounter = 0;
function txid(): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(++txidCounter, 8);
  b[0] = 0xa5;
  return b;
}

/** A WireGuard transport message of `len` bytes (at least 32). */
function wg(len = 64, fill = 0x5c): Buffer {
  const b = Buffer.alloc(len, fill);
  b[0] = 4;
  b[1] = b[2] = b[3] = 0;
  return b;
}

function dropped(sw: RelaySwitch): Record<string, number> {
  return Object.fromEntries(sw.stats.dropped);
}

function decode(d: Datagram): RelayPacket {
  const p = decodeRelayPacket(d.data);
  if (!p) throw new Error(`undecodable datagram ${d.data.toString('hex')}`);
  return p;
}

/** One BIND of `id` from `from`, with `cookie` if given: the single reply. */
function bindOnce(t: Test, sw: RelaySwitch, id: string, from: Endpoint, now: number, tx: Buffer, cookie?: Buffer): RelayPacket {
  const out = sw.receive(encodeBind(tx, id, authFor(id), cookie), from, now);
  t.equal(out.length, 1, `bind ${id}: one reply`);
  t.same(out[0]!.to, from, `bind ${id}: reply to the sender`);
  return decode(out[0]!);
}

/**
 * Binds `id` from `from` as a member does: a new address first gets a CHALLENGE, whose cookie the
 * second BIND echoes; an address already bound is refreshed at once. Checks the BOUND.
 */
function bind(t: Test, sw: RelaySwitch, id: string, from: Endpoint, now: number): void {
  const tx = txid();
  const bound = sw.endpointOf(id);
  let reply = bindOnce(t, sw, id, from, now, tx);
  if (!bound || bound.address !== from.address || bound.port !== from.port) {
    if (reply.type !== RELAY_CHALLENGE) throw new Error(`bind ${id} from a new address: expected a CHALLENGE, got type ${reply.type}`);
    t.same(reply.txid, tx, `bind ${id}: CHALLENGE echoes the txid`);
    reply = bindOnce(t, sw, id, from, now, tx, reply.cookie);
  }
  t.same(reply, { type: RELAY_BOUND, txid: tx }, `bind ${id}: BOUND echoes the txid`);
}

function makeSwitch(p: RelayPolicy, limits: Partial<RelayLimits> = {}): RelaySwitch {
  return new RelaySwitch(p, { unreachableGapMs: 1_000, bindingTtlMs: 90_000, ...limits });
}

t.test('bind with good auth: a CHALLENGE to the sender, then BOUND for the echoed cookie', async (t) => {
  const p = policy();
  const sw = makeSwitch(p);
  const tx = Buffer.from('0102030405060708090a0b0c', 'hex');
  const first = sw.receive(encodeBind(tx, 'alice', authFor('alice')), A1, 1234);
  t.equal(first.length, 1);
  const challenge = decode(first[0]!);
  t.equal(challenge.type, RELAY_CHALLENGE);
  if (challenge.type !== RELAY_CHALLENGE) return;
  t.same(first[0]!.to, A1, 'to the address the BIND came from');
  // Our relays authorize only proofs of 32 bytes or more, so a BIND they answer is at least this long.
  t.ok(first[0]!.data.length <= encodeBind(tx, 'a', Buffer.alloc(32)).length, 'no bigger than the BIND (no amplification)');
  t.equal(sw.bindingCount, 0, 'not bound before the address answered');
  t.equal(sw.stats.challenges, 1);
  const out = sw.receive(encodeBind(tx, 'alice', authFor('alice'), challenge.cookie), A1, 1240);
  t.same(out, [{ to: A1, data: encodeBound(tx) }]);
  t.same(p.authorized, [['alice', 'ok:alice', 1234], ['alice', 'ok:alice', 1240]], 'policy saw id, auth and now');
  t.equal(sw.bindingCount, 1);
  t.same(sw.endpointOf('alice'), A1);
  t.equal(sw.stats.binds, 1);
  t.same(dropped(sw), {});
  t.equal(sw.stats.packets, 0, 'binding relays nothing');
});

t.test('a cookie is bound to its address, id and time: a forged source cannot complete a bind', async (t) => {
  const sw = makeSwitch(policy());
  const ask = (id: string, from: Endpoint, now: number) => {
    const r = decode(sw.receive(encodeBind(txid(), id, authFor(id)), from, now)[0]!);
    if (r.type !== RELAY_CHALLENGE) throw new Error('expected a challenge');
    return r.cookie;
  };
  const replyTo = (id: string, from: Endpoint, cookie: Buffer, now: number) => decode(sw.receive(encodeBind(txid(), id, authFor(id), cookie), from, now)[0]!).type;
  // The attacker spoofs A1 (the victim) as the source: the cookie goes to A1, not to the attacker.
  const atVictim = ask('alice', A1, 0);
  t.equal(replyTo('alice', B1, atVictim, 1), RELAY_CHALLENGE, 'a cookie made for another address is refused');
  t.equal(replyTo('bob', A1, atVictim, 1), RELAY_CHALLENGE, 'a cookie made for another id is refused');
  t.equal(replyTo('alice', A1, Buffer.alloc(16), 1), RELAY_CHALLENGE, 'a made-up cookie is refused');
  t.equal(sw.bindingCount, 0);
  t.equal(replyTo('alice', A1, atVictim, 119_999), RELAY_BOUND, 'still good in the next minute');
  const late = ask('bob', B1, 0);
  t.equal(replyTo('bob', B1, late, 120_000), RELAY_CHALLENGE, 'stale after two periods');
  // Bound: refreshing from the same address needs no cookie; moving to a new one does.
  t.equal(decode(sw.receive(encodeBind(txid(), 'alice', authFor('alice')), A1, 120_001)[0]!).type, RELAY_BOUND, 'refresh in place');
  t.equal(decode(sw.receive(encodeBind(txid(), 'alice', authFor('alice')), A2, 120_002)[0]!).type, RELAY_CHALLENGE, 'a move is challenged');
  t.same(sw.endpointOf('alice'), A1, 'and does not happen unproven');
});

t.test('bind with bad auth: nothing sent, dropped bad_auth, not bound', async (t) => {
  const p = policy();
  const sw = makeSwitch(p);
  t.same(sw.receive(encodeBind(txid(), 'alice', authFor('mallory')), A1, 0), []);
  t.same(sw.receive(encodeBind(txid(), 'alice', Buffer.alloc(0)), A1, 0), []);
  t.same(dropped(sw), { bad_auth: 2 });
  t.equal(sw.bindingCount, 0);
  t.equal(sw.endpointOf('alice'), undefined);
  t.equal(sw.stats.binds, 0);
  // Bad auth for an id already bound elsewhere does not move it.
  bind(t, sw, 'alice', A1, 0);
  t.same(sw.receive(encodeBind(txid(), 'alice', authFor('x')), B1, 1), []);
  t.same(sw.endpointOf('alice'), A1, 'alice stays where she bound');
  t.same(dropped(sw), { bad_auth: 3 });
});

t.test('malformed and unexpected datagrams', async (t) => {
  const sw = makeSwitch(policy());
  t.same(sw.receive(Buffer.from('hello'), A1, 0), []);
  t.same(sw.receive(wg(64), A1, 0), [], 'bare WireGuard is not a relay packet');
  t.same(sw.receive(Buffer.concat([encodeBound(txid()), Buffer.from([0])]), A1, 0), []);
  t.same(dropped(sw), { malformed: 3 });
  bind(t, sw, 'alice', A1, 0);
  t.same(sw.receive(encodeBound(txid()), A1, 0), [], 'BOUND from a member');
  t.same(sw.receive(encodeUnreachable('bob'), A1, 0), [], 'UNREACHABLE from a member');
  t.same(dropped(sw), { malformed: 3, unexpected: 2 });
});

t.test('DATA from bound A to bound B', async (t) => {
  const p = policy();
  const sw = makeSwitch(p);
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'bob', B1, 0);
  const payload = wg(1440, 0x77);
  const out = sw.receive(encodeData('bob', payload), A1, 10);
  t.equal(out.length, 1, 'one datagram');
  t.same(out[0]!.to, B1, "to B's endpoint");
  const d = decode(out[0]!);
  t.equal(d.type, RELAY_DATA);
  if (d.type !== RELAY_DATA) return;
  t.equal(d.id, 'alice', "carries A's id as the source");
  t.ok(d.payload.equals(payload), 'the exact payload');
  t.ok(out[0]!.data.equals(encodeData('alice', payload)), 'byte for byte');
  t.same(p.forwardAsked, [['alice', 'bob']]);
  t.equal(sw.stats.packets, 1);
  t.equal(sw.stats.bytes, 1440, 'bytes count the payload');

  // And back, with the other WireGuard shapes and a disco probe.
  const init = Buffer.alloc(148, 1);
  init[0] = 1;
  init[1] = init[2] = init[3] = 0;
  const back = sw.receive(encodeData('alice', init), B1, 20);
  t.same(back, [{ to: A1, data: encodeData('bob', init) }]);
  const disco = Buffer.concat([Buffer.from([0xd1, 0x5c, 0x0d, 0x02]), Buffer.alloc(46, 9)]);
  t.same(sw.receive(encodeData('alice', disco), B1, 30), [{ to: A1, data: encodeData('bob', disco) }], 'disco ping is relayed');
  t.equal(sw.stats.packets, 3);
  t.equal(sw.stats.bytes, 1440 + 148 + 50);
  t.same(dropped(sw), {});
});

t.test('DATA from an unbound endpoint is dropped', async (t) => {
  const sw = makeSwitch(policy());
  bind(t, sw, 'bob', B1, 0);
  t.same(sw.receive(encodeData('bob', wg()), A1, 1), []);
  // Same address, other port: still unbound (bindings are per address and port).
  bind(t, sw, 'alice', A1, 0);
  t.same(sw.receive(encodeData('bob', wg()), A2, 1), []);
  t.same(dropped(sw), { unbound_source: 2 });
  t.equal(sw.stats.packets, 0);
});

t.test('non-WireGuard payloads are not relayed', async (t) => {
  const p = policy();
  const sw = makeSwitch(p);
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'bob', B1, 0);
  for (const payload of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), wg(31), wg(64).fill(5, 0, 1), Buffer.alloc(148), encodeData('bob', wg())]) {
    t.same(sw.receive(encodeData('bob', payload), A1, 1), []);
  }
  t.same(dropped(sw), { not_wireguard: 5 });
  t.equal(sw.stats.packets, 0);
  t.same(p.forwardAsked, [], 'policy not consulted');
});

t.test('policy.mayForward false drops not_allowed', async (t) => {
  const p = policy();
  const sw = makeSwitch(p);
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'bob', B1, 0);
  p.deny.add('alice>bob');
  t.same(sw.receive(encodeData('bob', wg()), A1, 1), []);
  t.same(dropped(sw), { not_allowed: 1 });
  t.same(p.forwardAsked, [['alice', 'bob']]);
  // Only that direction is denied.
  t.equal(sw.receive(encodeData('alice', wg()), B1, 1).length, 1);
  // Not allowed to an unbound id: no UNREACHABLE either (it would reveal who is bound).
  p.deny.add('alice>carol');
  t.same(sw.receive(encodeData('carol', wg()), A1, 1), []);
  t.same(dropped(sw), { not_allowed: 2 });
  t.equal(sw.stats.packets, 1);
});

t.test('unbound destination: UNREACHABLE to the source, paced per destination', async (t) => {
  const sw = makeSwitch(policy(), { unreachableGapMs: 1_000 });
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'bob', B1, 0);
  const first = sw.receive(encodeData('carol', wg()), A1, 5_000);
  t.same(first, [{ to: A1, data: encodeUnreachable('carol') }]);
  t.same(decode(first[0]!), { type: RELAY_UNREACHABLE, id: 'carol' });
  t.same(sw.receive(encodeData('carol', wg()), A1, 5_001), [], 'not again at once');
  t.same(sw.receive(encodeData('carol', wg()), A1, 5_999), [], 'not within the gap');
  t.same(sw.receive(encodeData('dave', wg()), A1, 5_999), [{ to: A1, data: encodeUnreachable('dave') }], 'another destination has its own pace');
  t.same(sw.receive(encodeData('carol', wg()), B1, 5_999), [{ to: B1, data: encodeUnreachable('carol') }], 'another source has its own pace');
  t.same(sw.receive(encodeData('carol', wg()), A1, 6_000), [{ to: A1, data: encodeUnreachable('carol') }], 'again once the gap has passed');
  t.same(sw.receive(encodeData('carol', wg()), A1, 6_500), []);
  t.same(dropped(sw), { unreachable: 7 }, 'every undeliverable packet is counted');
  t.equal(sw.stats.packets, 0);

  // Once carol binds, alice reaches her; after she leaves, UNREACHABLE starts again (gap permitting).
  bind(t, sw, 'carol', C1, 6_600);
  t.same(sw.receive(encodeData('carol', wg()), A1, 6_700), [{ to: C1, data: encodeData('alice', wg()) }]);
  sw.unbind('carol');
  t.same(sw.receive(encodeData('carol', wg()), A1, 6_800), [], 'still within the gap of the 6000 notice');
  t.same(sw.receive(encodeData('carol', wg()), A1, 7_000), [{ to: A1, data: encodeUnreachable('carol') }]);
});

t.test('the UNREACHABLE pacing memory is bounded', async (t) => {
  const sw = makeSwitch(policy(), { unreachableGapMs: 1_000 });
  bind(t, sw, 'alice', A1, 0);
  let sent = 0;
  for (let i = 0; i < 65; i++) sent += sw.receive(encodeData(`m${i}`, wg()), A1, 10).length;
  t.equal(sent, 65, 'one notice per distinct destination');
  // 65 destinations: the oldest (m0) was forgotten, the newest are still paced.
  t.same(sw.receive(encodeData('m64', wg()), A1, 10), []);
  t.same(sw.receive(encodeData('m1', wg()), A1, 10), []);
  t.same(sw.receive(encodeData('m0', wg()), A1, 10), [{ to: A1, data: encodeUnreachable('m0') }]);
});

t.test('deliverElsewhere', async (t) => {
  const p = policy({ elsewhere: ['wsmember'] });
  const sw = makeSwitch(p);
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'bob', B1, 0);
  const payload = wg(96, 0x31);
  t.same(sw.receive(encodeData('wsmember', payload), A1, 1), [], 'delivered elsewhere: no datagram');
  t.equal(p.elsewhere.length, 1);
  t.equal(p.elsewhere[0]![0], 'alice');
  t.equal(p.elsewhere[0]![1], 'wsmember');
  t.ok(p.elsewhere[0]![2].equals(payload), 'the exact payload');
  t.equal(sw.stats.packets, 1, 'counted as delivered');
  t.equal(sw.stats.bytes, 96);
  t.same(dropped(sw), {});

  // A UDP binding wins over other paths.
  t.equal(sw.receive(encodeData('bob', payload), A1, 2).length, 1);
  t.equal(p.elsewhere.length, 1, 'deliverElsewhere not asked for a bound destination');

  // deliverElsewhere refusing: UNREACHABLE as usual.
  t.same(sw.receive(encodeData('ghost', payload), A1, 3), [{ to: A1, data: encodeUnreachable('ghost') }]);
  t.equal(p.elsewhere.length, 2);
  t.same(dropped(sw), { unreachable: 1 });
  t.equal(sw.stats.packets, 2);
});

t.test('forward() from a member that is not bound over UDP', async (t) => {
  const p = policy({ elsewhere: ['ws2'] });
  const sw = makeSwitch(p);
  bind(t, sw, 'bob', B1, 0);
  const payload = wg(128);

  t.same(sw.forward('ws1', 'bob', payload, 1, WS_GROUP), { out: [{ to: B1, data: encodeData('ws1', payload) }], delivered: true });
  t.same(sw.forward('ws1', 'ws2', payload, 2, WS_GROUP), { out: [], delivered: true }, 'to another WebSocket member');
  t.same(p.elsewhere.map(([f, to]) => [f, to]), [['ws1', 'ws2']]);
  t.equal(sw.stats.packets, 2);
  t.equal(sw.stats.bytes, 256);

  t.same(sw.forward('ws1', 'nobody', payload, 3, WS_GROUP), { out: [], delivered: false }, 'unreachable: no UDP notice for a source without a binding');
  t.same(sw.forward('ws1', 'bob', Buffer.from('not wireguard'), 4, WS_GROUP), { out: [], delivered: false });
  p.deny.add('ws1>bob');
  t.same(sw.forward('ws1', 'bob', payload, 5, WS_GROUP), { out: [], delivered: false });
  t.same(dropped(sw), { unreachable: 1, not_wireguard: 1, not_allowed: 1 });
  t.equal(sw.stats.packets, 2);
  t.equal(sw.bindingCount, 1, 'forward() binds nothing');
  t.equal(sw.endpointOf('ws1'), undefined);
});

t.test('forward() from a member also bound over UDP uses its binding', async (t) => {
  const sw = makeSwitch(policy(), { bytesPerSecond: 10_000, burstBytes: 10_000 });
  bind(t, sw, 'alice', A1, 0);
  t.same(sw.forward('alice', 'nobody', wg(), 1, WS_GROUP), { out: [{ to: A1, data: encodeUnreachable('nobody') }], delivered: false }, 'UNREACHABLE to its UDP endpoint');
  // Shares the member's byte budget with its UDP DATA: 9 × 1024 - 64 left before the rest.
  bind(t, sw, 'bob', B1, 0);
  let delivered = 0;
  for (let i = 0; i < 20; i++) if (sw.forward('alice', 'bob', wg(1024), 1, WS_GROUP).delivered) delivered++;
  t.equal(delivered, 9, '(10000 - 64) / 1024 → 9 packets');
  t.same(sw.receive(encodeData('bob', wg(1024)), A1, 1), [], 'UDP DATA now over budget too');
  t.equal(dropped(sw).rate_limited, 12);
});

t.test('rebinding an id from a new endpoint moves it', async (t) => {
  const sw = makeSwitch(policy());
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'bob', B1, 0);
  bind(t, sw, 'alice', A2, 100);
  t.equal(sw.bindingCount, 2);
  t.same(sw.endpointOf('alice'), A2);
  t.equal(sw.stats.binds, 3);
  t.same(sw.receive(encodeData('bob', wg()), A1, 200), [], 'old endpoint no longer speaks for alice');
  t.same(dropped(sw), { unbound_source: 1 });
  t.same(sw.receive(encodeData('bob', wg()), A2, 200), [{ to: B1, data: encodeData('alice', wg()) }]);
  t.same(sw.receive(encodeData('alice', wg()), B1, 200), [{ to: A2, data: encodeData('bob', wg()) }], 'traffic to alice goes to the new endpoint');
  // Rebinding from the same endpoint changes nothing but refreshes.
  bind(t, sw, 'alice', A2, 300);
  t.equal(sw.bindingCount, 2);
  t.same(sw.endpointOf('alice'), A2);
});

t.test('another id binding from an endpoint already bound takes it over', async (t) => {
  const sw = makeSwitch(policy());
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'bob', B1, 0);
  bind(t, sw, 'carol', A1, 10);
  t.equal(sw.bindingCount, 2, 'alice is gone, carol is in');
  t.equal(sw.endpointOf('alice'), undefined);
  t.same(sw.endpointOf('carol'), A1);
  t.same(sw.receive(encodeData('bob', wg()), A1, 20), [{ to: B1, data: encodeData('carol', wg()) }], 'A1 now speaks for carol');
  t.same(sw.receive(encodeData('alice', wg()), B1, 20), [{ to: B1, data: encodeUnreachable('alice') }]);
  // Unbinding the evicted id later does not disturb the new owner.
  sw.unbind('alice');
  t.same(sw.endpointOf('carol'), A1);
  t.equal(sw.receive(encodeData('bob', wg()), A1, 30).length, 1);

  // A bound id moving onto another member's endpoint evicts that member and frees its own.
  bind(t, sw, 'carol', B1, 40);
  t.equal(sw.endpointOf('bob'), undefined);
  t.same(sw.endpointOf('carol'), B1);
  t.equal(sw.bindingCount, 1);
  t.same(sw.receive(encodeData('carol', wg()), A1, 50), [], 'A1 belongs to nobody now');
  t.equal(dropped(sw).unbound_source, 1);
});

t.test('bindings expire: sweep', async (t) => {
  const sw = makeSwitch(policy(), { bindingTtlMs: 1_000 });
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'bob', B1, 0);
  bind(t, sw, 'carol', C1, 0);
  sw.sweep(1_000);
  t.equal(sw.bindingCount, 3, 'kept for exactly the TTL');
  // Refreshes: alice by sending DATA, bob by binding again; carol stays silent.
  t.equal(sw.receive(encodeData('bob', wg()), A1, 800).length, 1);
  bind(t, sw, 'bob', B1, 900);
  sw.sweep(1_001);
  t.equal(sw.bindingCount, 2);
  t.equal(sw.endpointOf('carol'), undefined, 'carol expired');
  t.same(sw.receive(encodeData('alice', wg()), C1, 1_002), [], "carol's endpoint is unbound");
  t.same(dropped(sw), { unbound_source: 1 });
  t.same(sw.receive(encodeData('carol', wg()), A1, 1_002), [{ to: A1, data: encodeUnreachable('carol') }]);
  // Receiving DATA does not refresh the destination, only the source: bob gets DATA at 1002
  // but still expires 1000 ms after his last BIND at 900.
  t.same(sw.receive(encodeData('bob', wg()), A1, 1_002), [{ to: B1, data: encodeData('alice', wg()) }]);
  sw.sweep(1_801);
  t.same(sw.endpointOf('alice'), A1, 'alice refreshed at 1002');
  t.same(sw.endpointOf('bob'), B1, 'bob refreshed at 900');
  sw.sweep(1_901);
  t.equal(sw.endpointOf('bob'), undefined);
  t.same(sw.endpointOf('alice'), A1);
  sw.sweep(2_003);
  t.equal(sw.bindingCount, 0);
  t.same(sw.receive(encodeData('bob', wg()), A1, 2_004), [], 'alice must bind again');
});

t.test('bindings expire: by sweep, and lazily when a new id finds the table full (at most once a second)', async (t) => {
  const sw = makeSwitch(policy(), { bindingTtlMs: 1_000, maxBindings: 2 });
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'bob', B1, 500);
  bind(t, sw, 'carol', C1, 1_001);
  t.equal(sw.bindingCount, 2, 'alice swept by the new binding');
  t.equal(sw.endpointOf('alice'), undefined);
  t.same(sw.endpointOf('bob'), B1);
  t.same(sw.receive(encodeData('bob', wg()), A1, 1_002), []);
  t.same(dropped(sw), { unbound_source: 1 });
  // bob expires at 1501, but a full table was swept at 1001: not again before 2001.
  t.same(sw.receive(encodeBind(txid(), 'dave', authFor('dave')), D1, 1_600), [], 'full, and no sweep yet');
  t.same(dropped(sw), { unbound_source: 1, full: 1 });
  bind(t, sw, 'dave', D1, 2_001);
  t.equal(sw.endpointOf('bob'), undefined, 'swept a second later');
  sw.sweep(3_002);
  t.equal(sw.bindingCount, 0, 'sweep() drops whatever is older than the TTL');
});

t.test('maxBindings', async (t) => {
  const sw = makeSwitch(policy(), { maxBindings: 2, bindingTtlMs: 1_000 });
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'bob', B1, 0);
  t.same(sw.receive(encodeBind(txid(), 'carol', authFor('carol')), C1, 500), [], 'full: no BOUND');
  t.same(dropped(sw), { full: 1 });
  t.equal(sw.bindingCount, 2);
  t.equal(sw.endpointOf('carol'), undefined);
  t.equal(sw.stats.binds, 2);
  // Members already bound can still refresh and move.
  bind(t, sw, 'alice', A1, 600);
  bind(t, sw, 'bob', D1, 600);
  t.equal(sw.bindingCount, 2);
  // Once someone expires there is room again: both were last seen at 600, so both go.
  t.same(sw.receive(encodeBind(txid(), 'carol', authFor('carol')), C1, 1_600), [], 'still full at exactly the TTL');
  bind(t, sw, 'carol', C1, 2_600);
  t.equal(sw.bindingCount, 1);
  t.same(dropped(sw), { full: 2 });
  // Room after an unbind as well.
  bind(t, sw, 'dave', A2, 2_700);
  t.same(sw.receive(encodeBind(txid(), 'erin', authFor('erin')), A1, 2_700), []);
  sw.unbind('dave');
  bind(t, sw, 'erin', A1, 2_700);
  t.equal(sw.bindingCount, 2);
});

t.test('two ids taking turns on one address keep their budgets (no reset by rebinding)', async (t) => {
  const sw = makeSwitch(policy(), { bytesPerSecond: 1_000, burstBytes: 4_096 });
  bind(t, sw, 'bob', B1, 0);
  const p = wg(1024);
  let sent = 0;
  for (let round = 0; round < 10; round++) {
    for (const id of ['alice', 'carol']) {
      bind(t, sw, id, A1, round); // each takes A1 from the other
      for (let i = 0; i < 8; i++) sent += sw.receive(encodeData('bob', p), A1, round).length;
    }
  }
  // Two bursts of 4 packets each, whatever the number of turns.
  t.equal(sent, 8, `only the two budgets' worth got through (${sent} packets)`);
  t.ok((sw.stats.dropped.get('rate_limited') ?? 0) >= 150, 'the rest was rate limited');
  t.equal(sw.endpointOf('alice'), undefined, 'alice lost A1 to carol');
  t.equal(sw.bindingCount, 2, 'bob and carol are bound');
});

t.test('per-member byte budget', async (t) => {
  const sw = makeSwitch(policy(), { bytesPerSecond: 10_000, burstBytes: 10_000 });
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'bob', B1, 0);
  const p = wg(1024);
  const send = (from: Endpoint, to: string, now: number) => sw.receive(encodeData(to, p), from, now).length;

  let ok = 0;
  for (let i = 0; i < 12; i++) ok += send(A1, 'bob', 1_000);
  t.equal(ok, 9, 'a burst of 10000 bytes carries 9 × 1024');
  t.same(dropped(sw), { rate_limited: 3 });
  t.equal(sw.stats.packets, 9);
  t.equal(sw.stats.bytes, 9 * 1024);
  // 784 bytes left; refills at 10 bytes per ms: 240 more needed.
  t.equal(send(A1, 'bob', 1_023), 0, '1014 tokens after 23 ms');
  t.equal(send(A1, 'bob', 1_024), 1, '1024 tokens after 24 ms');
  t.equal(send(A1, 'bob', 1_024), 0);
  // Each member has its own budget.
  ok = 0;
  for (let i = 0; i < 12; i++) ok += send(B1, 'alice', 1_024);
  t.equal(ok, 9, "bob's budget is untouched by alice's");
  // Moving to a new endpoint does not reset the budget.
  bind(t, sw, 'alice', A2, 1_030);
  t.equal(send(A2, 'bob', 1_030), 0, 'still over budget after rebinding');
  // A long pause refills to the burst, no more.
  ok = 0;
  for (let i = 0; i < 12; i++) ok += send(A2, 'bob', 60_000);
  t.equal(ok, 9, 'refilled to the burst only');
  t.equal(dropped(sw).rate_limited, 3 + 1 + 1 + 3 + 1 + 3);
  t.equal(sw.stats.packets, 9 + 1 + 9 + 9);
});

t.test('unbind', async (t) => {
  const sw = makeSwitch(policy());
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'bob', B1, 0);
  sw.unbind('alice');
  t.equal(sw.bindingCount, 1);
  t.equal(sw.endpointOf('alice'), undefined);
  t.same(sw.receive(encodeData('bob', wg()), A1, 1), [], "alice's endpoint is unbound");
  t.same(sw.receive(encodeData('alice', wg()), B1, 1), [{ to: B1, data: encodeUnreachable('alice') }]);
  t.same(dropped(sw), { unbound_source: 1, unreachable: 1 });
  sw.unbind('alice');
  sw.unbind('never-bound');
  t.equal(sw.bindingCount, 1, 'unbinding an unknown id does nothing');
  t.same(sw.endpointOf('bob'), B1);
  // Binding again works.
  bind(t, sw, 'alice', A1, 2);
  t.same(sw.receive(encodeData('bob', wg()), A1, 3), [{ to: B1, data: encodeData('alice', wg()) }]);
});

t.test('a member may not relay to itself', async (t) => {
  const sw = makeSwitch(policy());
  bind(t, sw, 'alice', A1, 0);
  t.same(sw.receive(encodeData('alice', wg()), A1, 1), [], 'nothing sent back');
  t.same(sw.forward('alice', 'alice', wg(), 2, '192.0.2.10/32'), { out: [], delivered: false }, 'nor through forward()');
  t.same(dropped(sw), { self: 2 });
  t.equal(sw.stats.packets, 0);
});

t.test('members behind one address share one budget: many connections do not multiply it', async (t) => {
  const sw = makeSwitch(policy(), { bytesPerSecond: 10_000, burstBytes: 10_000, groupBytesPerSecond: 20_000, groupBurstBytes: 20_000 });
  const ids = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8'];
  // Eight members of one insider, each with its own port on one address (A1's).
  ids.forEach((id, i) => bind(t, sw, id, makeEndpoint('192.0.2.10', 41000 + i), 0));
  bind(t, sw, 'bob', B1, 0);
  const p = wg(1024);
  let ok = 0;
  for (let round = 0; round < 12; round++) {
    ids.forEach((id, i) => (ok += sw.receive(encodeData('bob', p), makeEndpoint('192.0.2.10', 41000 + i), 1_000).length));
  }
  t.equal(ok, 19, 'the address burst (20000 bytes) carries 19 x 1024, not 8 x 9');
  // Over WebSocket too: forward() is charged to the sender's address group.
  t.equal(sw.forward('m1', 'bob', p, 1_000, '192.0.2.10/32').delivered, false, 'a WebSocket sender on the same address is over budget too');
  ok = 0;
  for (let i = 0; i < 12; i++) ok += sw.receive(encodeData('m1', p), B1, 1_000).length;
  t.equal(ok, 9, 'another address keeps its own budget');
});

t.test('the policy hears of a binding when it starts or moves, only after its address answered the challenge', async (t) => {
  const bound: [string, string][] = [];
  const sw = makeSwitch({ ...policy(), bound: (id, e) => void bound.push([id, formatEndpoint(e)]) });
  sw.receive(encodeBind(txid(), 'alice', authFor('alice')), A1, 0);
  t.same(bound, [], 'a CHALLENGE is not a binding (the source may be forged)');
  bind(t, sw, 'alice', A1, 0);
  bind(t, sw, 'alice', A1, 1_000);
  t.same(bound, [['alice', formatEndpoint(A1)]], 'a refresh is no news');
  bind(t, sw, 'alice', A2, 2_000);
  t.same(bound, [['alice', formatEndpoint(A1)], ['alice', formatEndpoint(A2)]], 'a move is');
});

t.test('a wake-up of interleaved senders: each DATA routed by its own source, forwarded in its own bytes', async (t) => {
  const sw = makeSwitch(policy());
  // Ids of one length, as the server's are: every forwarded frame fits in the bytes it came in.
  for (const [id, at] of [['alice', A1], ['bobby', B1], ['carol', A2]] as const) bind(t, sw, id, at, 0);
  const sends: [string, Endpoint, string, Endpoint][] = [
    ['alice', A1, 'bobby', B1],
    ['alice', A1, 'bobby', B1],
    ['carol', A2, 'bobby', B1], // same address as alice, other port
    ['bobby', B1, 'alice', A1],
    ['alice', A1, 'carol', A2],
    ['bobby', B1, 'carol', A2],
  ];
  sends.forEach(([from, at, to, dest], i) => {
    const payload = wg(100 + i, i);
    const inbound = encodeData(to, payload);
    const out = sw.receive(inbound, at, 1);
    t.same(out, [{ to: dest, data: encodeData(from, payload) }], `${from} -> ${to}`);
    t.equal(out[0]?.data.buffer, inbound.buffer, 'in the received bytes');
  });
  t.same(dropped(sw), {});
});
