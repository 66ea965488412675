// AddressRouting on a real Device: each owned address is its member's /32; a classic hub's peer
// gets the room subnet, and members reached through the hub lose their /32 to it.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { formatPrefix, parseAddress } from '../../shared/net/address.js';
import { formatKey } from '../../shared/keys.js';
import { createLogger } from '../../shared/log.js';
import { Device } from '../wireguard/device.js';
import { PrivateKey } from '../wireguard/crypto.js';
import type { Peer } from '../wireguard/peer.js';
import { deviceEngine } from '../join/engine-port.js';
import { AddressRouting } from '../join/room/address-routing.js';
import { derivePairKeys } from '../join/room/pair-keys.js';
import { PathFinder } from '../join/paths/direct/punch.js';
import { ADDRESS_CLAIM_SKEW_MS, parseSubnet } from '../join/room/room-address.js';
import { RoomMembers, type Member } from '../join/room/room-members.js';
import { FakeClock } from './fixtures/engine-net.js';

const quiet = createLogger({ level: 'error', write: () => undefined });
const roomKey = randomBytes(32);
const SUBNET = parseSubnet('10.147.0.0/16');
/** Our own claim: held since t=1000 unless said otherwise. */
const at = (address: string, since = 1000) => ({ address, since });
/** When we saw the harness's members' claims appear (after we joined). */
const SEEN_AT = 1_500;

function sortedKeys(n: number): PrivateKey[] {
  return Array.from({ length: n }, () => PrivateKey.generate()).sort((a, b) => Buffer.compare(a.publicKey, b.publicKey));
}

function harness(self: PrivateKey, useHub = 'hub') {
  const device = new Device({ privateKey: self.raw, clock: new FakeClock(), jitter: () => 0, output: { udp: () => undefined, tun: () => undefined } });
  const routing = new AddressRouting(deviceEngine(device), SUBNET, self.publicKey, quiet, useHub);
  const members = new RoomMembers((a) => ({ key: formatKey(a.publicKey), publicKey: a.publicKey, keys: derivePairKeys(roomKey, self, a.publicKey), finder: new PathFinder() }));
  const add = (key: PrivateKey, name: string, address: string, hub = false, memberId = name, addressSince = 2000): Member => {
    const { member } = members.upsert({ publicKey: key.publicKey, memberId, name, address, addressSince, candidates: [], nat: { mapping: 'unknown', filtering: 'unknown' }, bounce: false, hub, issuedAt: 0 }, SEEN_AT)!;
    device.addPeer(member.publicKey, member.keys.presharedKey);
    return member;
  };
  const lookup = (address: string): Peer | undefined => device.allowedIps.lookup(4, parseAddress(address).bytes);
  const peer = (m: Member) => device.getPeer(m.publicKey)!;
  /** Its IPv4 prefixes (each owned address also brings its IPv6 room address, checked below). */
  const prefixes = (m: Member) => device.allowedIps.prefixesOf(peer(m)).filter((p) => p.family === 4).map(formatPrefix).sort();
  const prefixes6 = (m: Member) => device.allowedIps.prefixesOf(peer(m)).filter((p) => p.family === 6).map(formatPrefix).sort();
  return { device, routing, members, add, lookup, peer, prefixes, prefixes6 };
}

t.test('each member that owns its address gets it as a /32 (and its IPv6 room address as a /128)', async (t) => {
  const [k1, k2, self] = sortedKeys(3);
  const h = harness(self!);
  const a = h.add(k1!, 'a', '10.147.0.2');
  const b = h.add(k2!, 'b', '10.147.0.3');
  t.equal(h.routing.apply(h.members.all(), at('10.147.0.1')), true, 'our address is ours');
  t.same(h.prefixes(a), ['10.147.0.2/32']);
  t.same(h.prefixes(b), ['10.147.0.3/32']);
  t.same(h.prefixes6(a), ['fd77:7770:2a00::a93:2/128'], 'and the IPv6 room address derived from it');
  t.equal(h.lookup('10.147.0.2'), h.peer(a));
  t.equal(h.lookup('10.147.0.3'), h.peer(b));
  t.equal(h.lookup('10.147.0.4'), undefined, 'no hub: the rest of the subnet goes nowhere');
  t.equal(a.routed, '10.147.0.2');
  // Applying again changes nothing.
  t.equal(h.routing.apply(h.members.all(), at('10.147.0.1')), true);
  t.same(h.prefixes(a), ['10.147.0.2/32']);
});

t.test('the earliest claim owns a contested address (then the lowest key); ours never goes to a peer; nothing outside the subnet is routed', async (t) => {
  const [low, self, high, other] = sortedKeys(4);
  const h = harness(self!);
  const lo = h.add(low!, 'lo', '10.147.0.1'); // a lower key claims our address, later than we took it
  // Outside the room subnet (a hijack of 8.8.8.8 or of the server's address) or the subnet's
  // network/broadcast address: never an allowed IP, whoever claims it.
  const o = h.add(other!, 'o', '8.8.8.8');
  const bc = h.add(PrivateKey.generate(), 'bc', '10.147.255.255');
  t.equal(h.routing.apply(h.members.all(), at('10.147.0.1')), true, 'we keep our address against a later claim with a lower key');
  t.same(h.prefixes(lo), [], 'the later claim is not routed');
  t.equal(lo.routed, undefined);
  t.same(h.prefixes(o), [], 'an address outside the subnet is not routed');
  t.equal(h.lookup('8.8.8.8'), undefined);
  t.same(h.prefixes(bc), [], 'nor the broadcast address');
  const hi = h.add(high!, 'hi', '10.147.0.1', false, 'hi', 500);
  t.equal(h.routing.apply(h.members.all(), at('10.147.0.1')), false, 'an earlier claim takes our address, whatever its key');
  t.same(h.prefixes(hi), [], 'but while it is ours, no peer gets it');
  t.equal(h.lookup('10.147.0.1'), undefined);
  // We moved: the earliest claim gets the old address; an equal time goes to the lower key.
  t.equal(h.routing.apply(h.members.all(), at('10.147.0.5', 3000)), true);
  t.same(h.prefixes(hi), ['10.147.0.1/32']);
  t.same(h.prefixes(lo), []);
  hi.addressSince = lo.addressSince;
  h.routing.apply(h.members.all(), at('10.147.0.5', 3000));
  t.same(h.prefixes(lo), ['10.147.0.1/32'], 'a tie goes to the lower key');
  t.same(h.prefixes(hi), []);
  // A claim we saw appear is dated no earlier than that moment minus the allowed skew.
  hi.addressSince = 1;
  hi.claimSeenAt = 1_000_000;
  lo.addressSince = 1_000_000 - ADDRESS_CLAIM_SKEW_MS + 1;
  h.routing.apply(h.members.all(), at('10.147.0.5', 3000));
  t.same(h.prefixes(lo), [], 'a backdated claim counts from when we saw it minus the skew');
  t.same(h.prefixes(hi), ['10.147.0.1/32']);
  lo.addressSince = 1_000_000 - ADDRESS_CLAIM_SKEW_MS - 1;
  h.routing.apply(h.members.all(), at('10.147.0.5', 3000));
  t.same(h.prefixes(lo), ['10.147.0.1/32'], 'an older claim still wins');
  // Both claims predate us: no history to judge their signed times by, so neither gets it.
  lo.claimSeenAt = hi.claimSeenAt = undefined;
  h.routing.apply(h.members.all(), at('10.147.0.5', 3000));
  t.same([h.prefixes(lo), h.prefixes(hi)], [[], []], 'a contest older than we are goes to nobody');
  hi.claimSeenAt = 1_000_000;
  h.routing.apply(h.members.all(), at('10.147.0.5', 3000));
  t.same(h.prefixes(lo), ['10.147.0.1/32'], 'with one claim seen appearing, the older one wins again');
});

t.test('a hub gets the room subnet; a member reached via the hub loses its /32 to it, and gets it back', async (t) => {
  const [k1, k2, k3, self] = sortedKeys(4);
  const h = harness(self!);
  const hub = h.add(k1!, 'hub', '10.147.0.2', true);
  const a = h.add(k2!, 'a', '10.147.0.3');
  const b = h.add(k3!, 'b', '10.147.0.4');
  h.routing.apply(h.members.all(), at('10.147.0.1'));
  t.same(h.prefixes(hub), ['10.147.0.0/16', '10.147.0.2/32']);
  t.equal(h.lookup('10.147.0.3'), h.peer(a), 'a /32 beats the hub prefix');
  t.equal(h.lookup('10.147.0.4'), h.peer(b));
  t.equal(h.lookup('10.147.200.9'), h.peer(hub), 'the rest of the subnet goes to the hub');
  t.equal(h.lookup('10.148.0.1'), undefined, 'outside the subnet: nothing');

  a.viaHub = true;
  h.routing.apply(h.members.all(), at('10.147.0.1'));
  t.same(h.prefixes(a), [], 'no /32 of its own');
  t.equal(a.routed, undefined);
  t.equal(h.lookup('10.147.0.3'), h.peer(hub), 'its address goes to the hub');
  t.equal(h.lookup('10.147.0.4'), h.peer(b), 'the others keep theirs');
  t.same(h.prefixes(hub), ['10.147.0.0/16', '10.147.0.2/32']);

  a.viaHub = false;
  h.routing.apply(h.members.all(), at('10.147.0.1'));
  t.same(h.prefixes(a), ['10.147.0.3/32']);
  t.equal(h.lookup('10.147.0.3'), h.peer(a), 'back to the member');
});

t.test('only the hub we chose gets the subnet: never a lower key announcing --hub, nor a copy of its name', async (t) => {
  const [k1, k2, k3, k4, self] = sortedKeys(5);
  const h = harness(self!, 'chosen');
  const chosen = h.add(k2!, 'chosen', '10.147.0.3', true);
  const low = h.add(k1!, 'low', '10.147.0.2', true);
  const a = h.add(k3!, 'a', '10.147.0.4');
  h.routing.apply([chosen, a, low], at('10.147.0.1'));
  t.equal(h.lookup('10.147.99.99'), h.peer(chosen));
  t.same(h.prefixes(low), ['10.147.0.2/32'], 'the lower-keyed hub we did not choose has its /32 only');
  t.same(h.prefixes(chosen), ['10.147.0.0/16', '10.147.0.3/32']);

  // Our hub stops being one: the subnet goes nowhere (not to the other hub).
  chosen.hub = false;
  h.routing.apply(h.members.all(), at('10.147.0.1'));
  t.equal(h.lookup('10.147.99.99'), undefined);
  t.same(h.prefixes(low), ['10.147.0.2/32']);
  chosen.hub = true;
  h.routing.apply(h.members.all(), at('10.147.0.1'));
  t.equal(h.lookup('10.147.99.99'), h.peer(chosen));

  // An insider announces a hub under the same name: ambiguous, so no hub at all.
  const copy = h.add(k4!, 'chosen', '10.147.0.5', true, 'copy');
  h.routing.apply(h.members.all(), at('10.147.0.1'));
  t.equal(h.lookup('10.147.99.99'), undefined, 'two hubs by one name: neither');
  h.members.remove(copy);
  h.device.removePeer(copy.publicKey);
  h.routing.apply(h.members.all(), at('10.147.0.1'));
  t.equal(h.lookup('10.147.99.99'), h.peer(chosen), 'back to ours');

  // Our hub leaves the room (as the agent removes a member: peer first, then apply).
  h.members.remove(chosen);
  h.device.removePeer(chosen.publicKey);
  h.routing.apply(h.members.all(), at('10.147.0.1'));
  t.equal(h.lookup('10.147.99.99'), undefined, 'no hub: the prefix is gone');
  t.same(h.prefixes(a), ['10.147.0.4/32']);
});

t.test('a hub whose peer is not there yet gets the subnet once it is', async (t) => {
  const [k1, self] = sortedKeys(2);
  const h = harness(self!);
  const { member: hub } = h.members.upsert({ publicKey: k1!.publicKey, memberId: 'hub', name: 'hub', address: '10.147.0.2', candidates: [], nat: { mapping: 'unknown', filtering: 'unknown' }, bounce: false, hub: true, issuedAt: 0 })!;
  h.routing.apply(h.members.all(), at('10.147.0.1'));
  t.equal(h.lookup('10.147.99.99'), undefined, 'no peer, no route');
  h.device.addPeer(hub.publicKey, hub.keys.presharedKey);
  h.routing.apply(h.members.all(), at('10.147.0.1'));
  t.equal(h.lookup('10.147.99.99'), h.peer(hub));
  t.equal(h.lookup('10.147.0.2'), h.peer(hub));
});
