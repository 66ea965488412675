// Our own candidates: host addresses (the TUN and the room subnet left out), the STUN mapping of
// the WireGuard socket, and what counts as a change worth re-announcing.
import t from 'tap';
import type { NetworkInterfaceInfo } from 'node:os';
import { makeEndpoint, type Endpoint } from '../../shared/net/address.js';
import { StunClient } from '../../shared/stun/client.js';
import { encodeXorAddress } from '../../shared/stun/attributes.js';
import { ATTR_XOR_MAPPED_ADDRESS, BINDING_SUCCESS } from '../../shared/stun/constants.js';
import { decodeStunMessage, encodeStunMessage } from '../../shared/stun/message.js';
import { LocalCandidates } from '../join/nat/local-candidates.js';
import { ManualClock } from './fixtures/join-net.js';

const SERVER = makeEndpoint('198.51.100.1', 3478);
const iface = (address: string): NetworkInterfaceInfo => ({ address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: `${address}/24` });

function setup() {
  const clock = new ManualClock();
  let mapped: Endpoint | undefined = makeEndpoint('203.0.113.5', 40000);
  const interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = { eth0: [iface('192.168.1.2')], wg0: [iface('10.0.0.1')], lo: [{ ...iface('127.0.0.1'), internal: true }], jn0: [iface('10.147.0.7')] };
  // The server answers at once (in the send call) with the current mapping, or not at all.
  const stun: StunClient = new StunClient((data, to) => {
    if (!mapped) return;
    const req = decodeStunMessage(data)!;
    const answer = encodeStunMessage({ type: BINDING_SUCCESS, transactionId: req.transactionId, attributes: [{ type: ATTR_XOR_MAPPED_ADDRESS, value: encodeXorAddress({ family: 'IPv4', address: mapped.address, port: mapped.port }, req.transactionId) }] });
    queueMicrotask(() => stun.handle(answer, to));
  }, clock);
  const local = new LocalCandidates({ stun, stunServer: () => SERVER, port: () => 51820, excludeInterfaces: ['wg0'], excludeAddress: (a) => a.startsWith('10.147.'), ipv6: false, interfaces, probeFiltering: async () => 'port-dependent' });
  return { local, interfaces, clock, setMapping: (e: Endpoint | undefined) => (mapped = e) };
}

const names = (l: LocalCandidates) => l.list().map((c) => `${c.kind} ${c.endpoint.address}:${c.endpoint.port}`);

t.test('host addresses and the STUN mapping; a change is reported once', async (t) => {
  const { local, interfaces, clock, setMapping } = setup();
  t.equal(await local.refresh(), true);
  t.same(names(local), ['lan 192.168.1.2:51820', 'public 203.0.113.5:40000'], 'no TUN, loopback or room address');
  t.equal(await local.refresh(), false, 'nothing new');
  setMapping(makeEndpoint('203.0.113.5', 40001));
  t.equal(await local.refresh(), true, 'the NAT moved our mapping');
  setMapping(undefined);
  const silent = local.refresh();
  clock.advance(2_000); // every retransmission unanswered
  t.equal(await silent, false, 'no answer: the last mapping is kept');
  t.same(names(local).at(-1), 'public 203.0.113.5:40001');
  interfaces.eth1 = [iface('192.168.9.2')];
  t.equal(local.refreshHost(), true, 'a new host address, without STUN');
  t.equal(local.refreshHost(), false);
});

t.test('NAT discovery without an alternate port: the mapping is learned, behaviour unknown', async (t) => {
  const { local } = setup();
  t.equal(await local.discoverNat(), true, 'the mapped address is new');
  t.same(local.nat, { mapping: 'unknown', filtering: 'unknown' });
  t.same(local.publicEndpoint, makeEndpoint('203.0.113.5', 40000));
});
