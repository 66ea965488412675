// The path arbiter alone: direct > relay > hub, the relay budget and its punchingHopeless
// shortcut, the follower rule and the switch ratio; only it writes the peer's endpoint.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { makeEndpoint, sameEndpoint, type Endpoint } from '../../shared/net/address.js';
import { formatKey } from '../../shared/keys.js';
import { createLogger } from '../../shared/log.js';
import { PrivateKey } from '../wireguard/crypto.js';
import type { NatInfo } from '../join/room/announcement.js';
import { derivePairKeys } from '../join/room/pair-keys.js';
import { PathFinder } from '../join/paths/direct/punch.js';
import { PathArbiters, punchingHopeless, RELAY_FOLLOW_MS, type RelayOption } from '../join/paths/arbiter.js';
import { RoomMembers, type Member } from '../join/room/room-members.js';

const quiet = createLogger({ level: 'error', write: () => undefined });
const EIM: NatInfo = { mapping: 'endpoint-independent', filtering: 'port-independent' };
const EDM: NatInfo = { mapping: 'endpoint-dependent', filtering: 'port-dependent' };
const DIRECT = makeEndpoint('203.0.113.9', 41641);
const VIA_RELAY = makeEndpoint('fd7a:0:0:1::1', 1);

function setup(ourNat: NatInfo = EIM, theirNat: NatInfo = EIM, side?: 0 | 1) {
  const writes: { key: Buffer; to: Endpoint }[] = [];
  const arbiters = new PathArbiters({ engine: { setEndpoint: (key, to) => writes.push({ key, to }) }, log: quiet, ourNat: () => ourNat, relayBudgetMs: () => 1_500 });
  for (;;) {
    const us = PrivateKey.generate();
    const them = PrivateKey.generate();
    const members = new RoomMembers((a) => ({ key: formatKey(a.publicKey), publicKey: a.publicKey, keys: derivePairKeys(randomBytes(32), us, a.publicKey), finder: new PathFinder() }));
    const m = members.upsert({ publicKey: them.publicKey, memberId: 'm', name: 'm', address: '10.147.0.2', candidates: [], nat: theirNat, bounce: false, hub: false, issuedAt: 0 })!.member;
    if (side === undefined || m.keys.side === side) return { arbiters, writes, m };
  }
}

const path = (endpoint: Endpoint, rttMs = 3) => ({ endpoint, kind: 'public' as const, rttMs, lastAnswerAt: 0 });

t.test('a direct path is used at once and wins over a relay reported later', async (t) => {
  const { arbiters, writes, m } = setup();
  t.equal(arbiters.route(m), 'none');
  arbiters.directUp(m, path(DIRECT), false);
  t.equal(arbiters.route(m), 'direct');
  t.equal(writes.length, 1);
  t.ok(sameEndpoint(writes[0]!.to, DIRECT));
  arbiters.relayUp(m, VIA_RELAY);
  t.equal(writes.length, 1, 'a relay does not take the peer off the direct path');
  t.equal(arbiters.route(m), 'direct');
  arbiters.directLost(m);
  t.equal(arbiters.route(m), 'relay', 'the relay, once the direct path is gone');
});

t.test('relaying waits out the budget, at once when punching is hopeless', async (t) => {
  const a = setup(EIM, EIM);
  t.equal(a.arbiters.relayAllowed(a.m, 1_000), false, 'the budget starts now');
  t.equal(a.arbiters.relayAllowed(a.m, 2_499), false);
  t.equal(a.arbiters.relayAllowed(a.m, 2_500), true);
  const b = setup(EDM, EDM);
  t.equal(b.arbiters.relayAllowed(b.m, 1_000), true, 'two symmetric NATs: no budget');
  t.equal(punchingHopeless(EDM, EIM), false, 'one symmetric NAT against one that does not filter by port');
  t.equal(punchingHopeless(EDM, { mapping: 'endpoint-independent', filtering: 'port-dependent' }), true);
  const c = setup();
  c.arbiters.directUp(c.m, path(DIRECT), false);
  t.equal(c.arbiters.relayAllowed(c.m, 0), false, 'never while a direct path exists');
  c.arbiters.directLost(c.m);
  t.equal(c.arbiters.relayAllowed(c.m, 10_000), false, 'losing it restarts the budget');
  t.equal(c.arbiters.relayAllowed(c.m, 11_500), true);
});

t.test('relay choice: UDP before the WebSocket, by RTT, switching only by a clear margin', async (t) => {
  const { arbiters, m } = setup(EIM, EIM, 0);
  const fast: RelayOption = { kind: 'server', rttMs: 10 };
  const slow: RelayOption = { kind: 'bounce', rttMs: 20 };
  const ws: RelayOption = { kind: 'ws', rttMs: 1 };
  t.equal(arbiters.pickRelay(m, [slow, ws, fast], undefined, undefined, 0), fast);
  t.equal(arbiters.pickRelay(m, [ws], undefined, undefined, 0), ws, 'the WebSocket when nothing else');
  t.equal(arbiters.pickRelay(m, [], undefined, undefined, 0), undefined);
  const current: RelayOption = { kind: 'bounce', rttMs: 12 };
  t.equal(arbiters.pickRelay(m, [fast, current], current, undefined, 0), current, '10 vs 12 ms: not worth a switch');
  const faster: RelayOption = { kind: 'server', rttMs: 8 };
  t.equal(arbiters.pickRelay(m, [faster, current], current, undefined, 0), faster, '8 vs 12 ms: below the switch ratio');
});

t.test('the higher-keyed end follows the relay its peer’s packets come through', async (t) => {
  const fast: RelayOption = { kind: 'server', rttMs: 10 };
  const slow: RelayOption = { kind: 'bounce', rttMs: 20 };
  const follower = setup(EIM, EIM, 1);
  t.equal(follower.arbiters.pickRelay(follower.m, [fast, slow], undefined, { link: slow, at: 0 }, 100), slow);
  t.equal(follower.arbiters.pickRelay(follower.m, [fast, slow], undefined, { link: slow, at: 0 }, RELAY_FOLLOW_MS), fast, 'not once the packets stopped');
  const leader = setup(EIM, EIM, 0);
  t.equal(leader.arbiters.pickRelay(leader.m, [fast, slow], undefined, { link: slow, at: 0 }, 100), fast, 'the lower-keyed end leads');
});

t.test('the hub: only when stranded (no direct path, no relay, budget spent), never the hub itself', async (t) => {
  const { arbiters, m } = setup();
  const hub = setup().m;
  t.equal(arbiters.updateHub(m, hub, 0), false, 'never asked to relay yet: not stranded');
  arbiters.relayAllowed(m, 0);
  t.equal(arbiters.updateHub(m, hub, 1_000), false, 'punching still has time');
  t.equal(arbiters.updateHub(m, hub, 1_500), true, 'stranded: through the hub');
  t.equal(m.viaHub, true);
  t.equal(arbiters.route(m), 'hub');
  t.equal(arbiters.updateHub(m, undefined, 1_600), true, 'no hub any more');
  t.equal(m.viaHub, false);
  arbiters.updateHub(m, hub, 1_700);
  arbiters.relayUp(m, VIA_RELAY);
  t.equal(arbiters.updateHub(m, hub, 1_800), true, 'a relay beats the hub');
  t.equal(arbiters.route(m), 'relay');
  t.equal(arbiters.updateHub(hub, hub, 5_000), false, 'the hub is never reached through itself');
});
