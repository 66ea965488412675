// RelayPaths: when a member is relayed, through which link, and how the engine's packets and
// disco probes go through it. Real pieces throughout: RelayLinks over a fake socket, RoomMembers
// built as the agent builds them, and real WireGuard Devices (ours, and the member's where its
// packets are needed); time is explicit.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { formatEndpoint, makeEndpoint, parsePrefix, sameEndpoint, type Endpoint } from '../../shared/net/address.js';
import { formatKey } from '../../shared/keys.js';
import { PING_BYTES } from '../../shared/wire/disco.js';
import { decodeRelayPacket, decodeWsFrame, RELAY_BIND, RELAY_DATA } from '../../shared/wire/relay.js';
import { createLogger } from '../../shared/log.js';
import { Device } from '../wireguard/device.js';
import { PrivateKey } from '../wireguard/crypto.js';
import { MSG_INITIATION, MSG_RESPONSE } from '../../shared/wire/wireguard.js';
import type { NatInfo } from '../join/room/announcement.js';
import { DISCO_PING, DISCO_PONG } from '../../shared/wire/disco.js';
import { encodePing, encodePong, newTxid, openDisco, type DiscoPong } from '../join/paths/direct/disco.js';
import { derivePairKeys, type PairKeys } from '../join/room/pair-keys.js';
import { PathFinder } from '../join/paths/direct/punch.js';
import { parseRelayEndpoint, relayEndpoint } from '../join/paths/relay/relay-endpoint.js';
import { RelayLinks, type RelayLink, type RelayLinkKind } from '../join/paths/relay/relay-links.js';
import { DEFAULT_RELAY_TIMING, RelayPaths, type RelayTiming } from '../join/paths/relay/relay-paths.js';
import { PathArbiters, punchingHopeless } from '../join/paths/arbiter.js';
import { deviceEngine } from '../join/engine-port.js';
import { RoomMembers, type Member } from '../join/room/room-members.js';
import { FakeClock, ipv4Packet } from './fixtures/engine-net.js';

const quiet = createLogger({ level: 'error', write: () => undefined });
const roomKey = randomBytes(32);

const EIM: NatInfo = { mapping: 'endpoint-independent', filtering: 'port-independent' };
const EDM: NatInfo = { mapping: 'endpoint-dependent', filtering: 'port-dependent' };

const SERVER = makeEndpoint('198.51.100.10', 3479);
const BOUNCE = makeEndpoint('203.0.113.50', 51820);
const BOUNCE2 = makeEndpoint('203.0.113.51', 51820);

/** Three keys in increasing public-key order. */
function sortedKeys(n = 3): PrivateKey[] {
  return Array.from({ length: n }, () => PrivateKey.generate()).sort((a, b) => Buffer.compare(a.publicKey, b.publicKey));
}

interface Relayed {
  link: RelayLink;
  id: string;
  payload: Buffer;
}

/** One agent's relay machinery, as agent.ts wires it. */
function agentSide(self: PrivateKey, opts: { timing?: Partial<RelayTiming>; nat?: NatInfo } = {}) {
  const clock = new FakeClock();
  const queued: { data: Buffer; to: Endpoint }[] = [];
  const wsFrames: Buffer[] = [];
  const direct: { data: Buffer; to: Endpoint }[] = [];
  const tun: Buffer[] = [];
  const counts = new Map<string, number>();
  let nat = opts.nat ?? EIM;
  let paths: RelayPaths;
  const device = new Device({
    privateKey: self.raw,
    clock,
    jitter: () => 0,
    output: {
      // The tunnel's outbound hook: virtual endpoints go to RelayPaths, the rest to the socket.
      udp: (data, to) => {
        if (!paths.send(Buffer.from(data), to)) direct.push({ data: Buffer.from(data), to });
      },
      tun: (p) => tun.push(Buffer.from(p)),
    },
  });
  const links = new RelayLinks({
    queue: (data, to) => queued.push({ data: Buffer.from(data), to }),
    sendWs: (frame) => {
      wsFrames.push(Buffer.from(frame));
      return true;
    },
    log: quiet,
    linkDown: (l) => paths.linkDown(l),
  });
  const members = new RoomMembers((a) => ({
    key: formatKey(a.publicKey),
    publicKey: a.publicKey,
    keys: derivePairKeys(roomKey, self, a.publicKey),
    finder: new PathFinder(),
  }));
  const engine = deviceEngine(device);
  const arbiters = new PathArbiters({ engine, log: quiet, ourNat: () => nat, relayBudgetMs: () => ({ ...DEFAULT_RELAY_TIMING, ...opts.timing }).budgetMs });
  paths = new RelayPaths({ engine, links, members, arbiters, log: quiet, count: (w) => counts.set(w, (counts.get(w) ?? 0) + 1) }, opts.timing);

  let nextAddress = 2;
  function addMember(key: PrivateKey, memberId: string, memberNat: NatInfo = EIM, bounce = false): Member {
    const { member } = members.upsert({ publicKey: key.publicKey, memberId, name: memberId, address: `10.147.0.${nextAddress++}`, candidates: [], nat: memberNat, bounce, hub: false, issuedAt: 0 })!;
    device.addPeer(member.publicKey, member.keys.presharedKey);
    return member;
  }

  /** Adds a UDP link and binds it (BIND at 0, BOUND after `rttMs`). */
  function udpLink(key: string, kind: RelayLinkKind, at: Endpoint, rttMs: number, label = key): RelayLink {
    const link = links.upsert(key, kind, label, [at], () => ({ id: 'self-id', auth: Buffer.alloc(0) }));
    links.tick(0);
    answerBinds(at, rttMs);
    if (!link.up) throw new Error('link did not come up');
    return link;
  }

  /** Takes the BINDs queued so far (leaving the rest). */
  function binds(): { txid: Buffer; to: Endpoint }[] {
    const out: { txid: Buffer; to: Endpoint }[] = [];
    for (let i = 0; i < queued.length; ) {
      const p = decodeRelayPacket(queued[i]!.data);
      if (p?.type === RELAY_BIND) {
        out.push({ txid: p.txid, to: queued[i]!.to });
        queued.splice(i, 1);
      } else i++;
    }
    return out;
  }

  /** The relay at `at` answers the BINDs sent to it (others are dropped). */
  function answerBinds(at: Endpoint, now: number): number {
    let n = 0;
    for (const b of binds()) {
      if (!sameEndpoint(b.to, at)) continue;
      links.onBound(b.txid, at, now);
      n++;
    }
    return n;
  }

  /** Everything sent through links since the last call (BINDs dropped), oldest first. */
  function sent(): Relayed[] {
    binds();
    const out: Relayed[] = [];
    for (const q of queued.splice(0)) {
      const p = decodeRelayPacket(q.data);
      if (p?.type !== RELAY_DATA) throw new Error(`unexpected datagram ${q.data.toString('hex')}`);
      const link = links.byEndpoint(q.to);
      if (!link) throw new Error(`DATA to ${formatEndpoint(q.to)}, no link there`);
      out.push({ link, id: p.id, payload: Buffer.from(p.payload) });
    }
    for (const f of wsFrames.splice(0)) {
      const d = decodeWsFrame(f)!;
      out.push({ link: links.get('ws')!, id: d.id, payload: Buffer.from(d.payload) });
    }
    return out;
  }

  return { self, clock, device, links, members, paths, arbiters, direct, tun, counts, sent, binds, answerBinds, addMember, udpLink, setNat: (n: NatInfo) => (nat = n) };
}

/** The member's end: its pair keys and a Device of its own with us as its peer. */
function memberSide(key: PrivateKey, us: PrivateKey) {
  const keys: PairKeys = derivePairKeys(roomKey, key, us.publicKey);
  const out: Buffer[] = [];
  const device = new Device({ privateKey: key.raw, clock: new FakeClock(), jitter: () => 0, output: { udp: (d) => out.push(Buffer.from(d)), tun: () => undefined } });
  const peer = device.addPeer(us.publicKey, keys.presharedKey)!;
  peer.endpoint = makeEndpoint('192.0.2.1', 51820); // wherever: we only take what it sends
  return {
    keys,
    device,
    /** A fresh handshake initiation from the member. */
    initiation(): Buffer {
      peer.zeroKeys();
      (device.clock as FakeClock).advance(10_000);
      peer.sendInitiation(false);
      const msg = out.splice(0).find((d) => d[0] === MSG_INITIATION);
      if (!msg) throw new Error('no initiation');
      return msg;
    },
    ping(txid = newTxid()): Buffer {
      return encodePing(keys.discoKey, keys.side, keys.pairId, txid);
    },
    pong(txid: Buffer): Buffer {
      return encodePong(keys.discoKey, keys.side, keys.pairId, txid, makeEndpoint('100::1:1', 1));
    },
  };
}

const slotsOf = (e: Endpoint | undefined) => (e ? parseRelayEndpoint(e) : undefined);
const peerOf = (s: ReturnType<typeof agentSide>, m: Member) => s.device.getPeer(m.publicKey)!;

/** Disco pings among `sent`, opened with the member's keys. */
function pings(sent: Relayed[], m: ReturnType<typeof memberSide>) {
  return sent.flatMap((r) => {
    const p = r.payload.length === PING_BYTES ? openDisco(m.keys.discoKey, r.payload) : undefined;
    return p && p.type === DISCO_PING ? [{ ...r, txid: p.txid, side: p.side }] : [];
  });
}

t.test('punchingHopeless: EDM against EDM or port-dependent filtering; symmetric', async (t) => {
  const n = (mapping: NatInfo['mapping'], filtering: NatInfo['filtering']): NatInfo => ({ mapping, filtering });
  const cases: [NatInfo, NatInfo, boolean][] = [
    [n('endpoint-dependent', 'port-dependent'), n('endpoint-dependent', 'port-independent'), true],
    [n('endpoint-dependent', 'unknown'), n('endpoint-dependent', 'unknown'), true],
    [n('endpoint-dependent', 'port-independent'), n('endpoint-independent', 'port-dependent'), true],
    [n('endpoint-dependent', 'port-independent'), n('unknown', 'port-dependent'), true],
    [n('endpoint-independent', 'port-dependent'), n('endpoint-dependent', 'port-independent'), true],
    [n('endpoint-dependent', 'port-dependent'), n('endpoint-independent', 'port-independent'), false],
    [n('endpoint-dependent', 'port-dependent'), n('endpoint-independent', 'unknown'), false],
    [n('endpoint-dependent', 'port-dependent'), n('unknown', 'unknown'), false],
    [n('endpoint-independent', 'port-dependent'), n('endpoint-independent', 'port-dependent'), false],
    [n('endpoint-independent', 'port-independent'), n('endpoint-independent', 'port-independent'), false],
    [n('unknown', 'unknown'), n('unknown', 'unknown'), false],
    [n('unknown', 'port-dependent'), n('unknown', 'port-dependent'), false],
    [n('unknown', 'unknown'), n('endpoint-dependent', 'port-dependent'), false],
  ];
  for (const [a, b, want] of cases) {
    t.equal(punchingHopeless(a, b), want, `${a.mapping}/${a.filtering} × ${b.mapping}/${b.filtering}`);
    t.equal(punchingHopeless(b, a), want, `${b.mapping}/${b.filtering} × ${a.mapping}/${a.filtering}`);
  }
  const all: NatInfo[] = [];
  for (const m of ['endpoint-independent', 'endpoint-dependent', 'unknown'] as const) for (const f of ['port-independent', 'port-dependent', 'unknown'] as const) all.push(n(m, f));
  let hopeless = 0;
  let asymmetric = 0;
  for (const a of all) {
    for (const b of all) {
      if (punchingHopeless(a, b)) hopeless++;
      if (punchingHopeless(a, b) !== punchingHopeless(b, a)) asymmetric++;
    }
  }
  // EDM × (EDM: 3, or non-EDM port-dependent: 2) = 3 × 5, plus non-EDM port-dependent (2) × EDM (3).
  t.equal(hopeless, 21);
  t.equal(asymmetric, 0);
});

t.test('no relay before the punching budget; at once when punching is hopeless', async (t) => {
  const [us, a, b] = sortedKeys();
  const s = agentSide(us!);
  const link = s.udpLink('server', 'server', SERVER, 20);
  const ma = s.addMember(a!, 'ma', EIM);
  s.paths.tick(ma, 1_000);
  s.paths.tick(ma, 2_499);
  t.equal(s.paths.info(ma), undefined, 'not before 1.5 s');
  t.equal(peerOf(s, ma).endpoint, undefined);
  t.equal(s.arbiters.stranded(ma, 2_499), false);
  t.equal(s.sent().length, 0, 'nothing sent');
  s.paths.tick(ma, 2_500);
  t.same(s.paths.info(ma), { relay: 'server', endpoint: '198.51.100.10:3479', rttMs: undefined });
  t.equal(slotsOf(peerOf(s, ma).endpoint)?.linkSlot, link.slot);

  // A custom budget; an EDM member against our port-dependent filtering needs no budget at all.
  const s2 = agentSide(us!, { timing: { budgetMs: 300 }, nat: { mapping: 'endpoint-independent', filtering: 'port-dependent' } });
  s2.udpLink('server', 'server', SERVER, 20);
  const m2 = s2.addMember(a!, 'ma', EIM);
  const h2 = s2.addMember(b!, 'mb', { mapping: 'endpoint-dependent', filtering: 'port-independent' });
  s2.paths.tick(m2, 1_000);
  s2.paths.tick(h2, 1_000);
  t.equal(s2.paths.info(m2), undefined);
  t.equal(s2.paths.info(h2)?.relay, 'server', 'hopeless: relayed on the first tick');
  s2.paths.tick(m2, 1_299);
  t.equal(s2.paths.info(m2), undefined);
  s2.paths.tick(m2, 1_300);
  t.equal(s2.paths.info(m2)?.relay, 'server', 'relayed after 300 ms');

  // EDM on both sides.
  const s3 = agentSide(us!, { nat: EDM });
  s3.udpLink('server', 'server', SERVER, 20);
  const m3 = s3.addMember(a!, 'ma', EDM);
  s3.paths.tick(m3, 1_000);
  t.equal(s3.paths.info(m3)?.relay, 'server');
});

t.test('the up UDP link with the lowest RTT wins over the WebSocket; a member never relays to itself', async (t) => {
  const [us, a, bob] = sortedKeys();
  const s = agentSide(us!, { nat: EDM });
  s.links.setWs(true, 1);
  const server = s.udpLink('server', 'server', SERVER, 40);
  const bobKey = formatKey(bob!.publicKey);
  const bounce = s.udpLink(bobKey, 'bounce', BOUNCE, 10);
  s.links.upsert('down', 'bounce', 'down', [BOUNCE2], () => undefined); // never up, RTT unknown
  const ma = s.addMember(a!, 'ma', EDM);
  const mb = s.addMember(bob!, 'mb', EDM, true);
  s.paths.tick(ma, 1_000);
  t.equal(s.paths.info(ma)?.relay, bobKey, 'the bounce: 10 ms');
  t.equal(slotsOf(peerOf(s, ma).endpoint)?.linkSlot, bounce.slot);
  s.paths.tick(mb, 1_000);
  t.equal(s.paths.info(mb)?.relay, 'server', 'the bounce is not its own relay');
  t.equal(slotsOf(peerOf(s, mb).endpoint)?.linkSlot, server.slot);
});

t.test('the WebSocket only when no UDP link is up; a UDP link coming up takes over', async (t) => {
  const [us, a] = sortedKeys();
  const s = agentSide(us!, { nat: EDM });
  const m = memberSide(a!, us!);
  s.links.setWs(true, 80);
  const ws = s.links.get('ws')!;
  const server = s.links.upsert('server', 'server', 'server', [SERVER], () => ({ id: 'self-id', auth: Buffer.alloc(0) }));
  const ma = s.addMember(a!, 'ma', EDM);
  s.links.tick(0);
  t.equal(s.binds().length, 1, 'the server link binds, unanswered');
  s.paths.tick(ma, 1_000);
  t.same(s.paths.info(ma), { relay: 'ws', endpoint: 'ws', rttMs: undefined });
  t.equal(slotsOf(peerOf(s, ma).endpoint)?.linkSlot, ws.slot);
  const first = s.sent();
  t.same(
    first.map((r) => [r.link.key, r.id, r.payload[0], r.payload.length]),
    [
      ['ws', 'ma', MSG_INITIATION, 148],
      ['ws', 'ma', 0xd1, PING_BYTES],
    ],
    'a handshake initiation and a disco ping, both over the WebSocket to the member',
  );
  t.equal(pings(first, m)[0]?.side, ma.keys.side, 'the ping is ours, for this pair');
  // The server's UDP relay answers at last: slower than the WebSocket, and still preferred.
  s.links.tick(1_000);
  t.equal(s.answerBinds(SERVER, 1_150), 1);
  t.equal(server.up, true);
  t.equal(server.rttMs, 150);
  s.paths.tick(ma, 1_100);
  t.same(s.paths.info(ma), { relay: 'server', endpoint: '198.51.100.10:3479', rttMs: undefined }, 'UDP beats the WebSocket whatever the RTTs');
  t.equal(slotsOf(peerOf(s, ma).endpoint)?.linkSlot, server.slot);
  const moved = s.sent();
  t.same(
    moved.map((r) => [r.link.key, r.payload.length]),
    [['server', PING_BYTES]],
    'a ping on the new link (the handshake in flight is not repeated yet)',
  );
});

t.test('peer.endpoint is the virtual endpoint of the link; send() of it goes out through that link to the member id', async (t) => {
  const [us, a, b] = sortedKeys();
  const s = agentSide(us!, { nat: EDM });
  const link = s.udpLink('server', 'server', SERVER, 20);
  const ma = s.addMember(a!, 'member-a', EDM);
  const mb = s.addMember(b!, 'member-b', EDM);
  s.paths.tick(ma, 1_000);
  s.paths.tick(mb, 1_000);
  const ea = peerOf(s, ma).endpoint!;
  const eb = peerOf(s, mb).endpoint!;
  t.equal(slotsOf(ea)?.linkSlot, link.slot);
  t.equal(slotsOf(eb)?.linkSlot, link.slot);
  t.not(slotsOf(ea)?.memberSlot, slotsOf(eb)?.memberSlot, 'one member slot each');
  t.same(ea, relayEndpoint(link.slot, slotsOf(ea)!.memberSlot));
  t.same(
    s.sent().map((r) => [r.link.key, r.id, r.payload[0]]),
    [
      ['server', 'member-a', MSG_INITIATION],
      ['server', 'member-a', 0xd1],
      ['server', 'member-b', MSG_INITIATION],
      ['server', 'member-b', 0xd1],
    ],
  );
  const data = Buffer.from('04000000' + '00'.repeat(28), 'hex');
  t.equal(s.paths.send(data, ea), true);
  t.equal(s.paths.send(data, eb), true);
  t.same(
    s.sent().map((r) => [r.link.key, r.id, r.payload.toString('hex')]),
    [
      ['server', 'member-a', data.toString('hex')],
      ['server', 'member-b', data.toString('hex')],
    ],
  );
  // Not ours: the caller sends it on the socket.
  t.equal(s.paths.send(data, makeEndpoint('192.0.2.7', 51820)), false);
  t.equal(s.counts.get('relay_send_dropped'), undefined);
  // Ours, but nothing there: swallowed and counted.
  t.equal(s.paths.send(data, relayEndpoint(99, slotsOf(ea)!.memberSlot)), true, 'unknown link');
  t.equal(s.paths.send(data, relayEndpoint(link.slot, 999)), true, 'unknown member');
  t.equal(s.counts.get('relay_send_dropped'), 2);
  s.paths.forget(ma);
  t.equal(s.paths.send(data, ea), true);
  t.equal(s.counts.get('relay_send_dropped'), 3, 'a forgotten member');
  s.links.remove('server', 'gone');
  t.equal(s.paths.send(data, eb), true);
  t.equal(s.counts.get('relay_send_dropped'), 4, 'a removed link');
  t.equal(s.sent().length, 0);
  t.equal(s.direct.length, 0, 'nothing went to the socket');
});

t.test('a direct path clears the relay; losing it waits out the budget again', async (t) => {
  const [us, a] = sortedKeys();
  const s = agentSide(us!, { timing: { budgetMs: 1_000 } });
  s.udpLink('server', 'server', SERVER, 20);
  const ma = s.addMember(a!, 'ma', EIM);
  s.paths.tick(ma, 0);
  s.paths.tick(ma, 1_000);
  t.equal(s.paths.info(ma)?.relay, 'server');
  s.arbiters.directUp(ma, { endpoint: makeEndpoint('203.0.113.9', 41641), kind: 'public', rttMs: 3, lastAnswerAt: 1_500 }, false);
  s.paths.tick(ma, 1_500);
  t.equal(s.paths.info(ma), undefined, 'the direct path replaces the relay');
  t.equal(s.arbiters.stranded(ma, 1_500), false);
  s.sent();
  s.paths.tick(ma, 5_000);
  t.equal(s.sent().length, 0, 'no more relayed pings');
  s.arbiters.directLost(ma);
  s.paths.tick(ma, 6_000);
  t.equal(s.paths.info(ma), undefined, 'punching gets its budget again');
  t.equal(s.arbiters.stranded(ma, 6_000), false);
  s.paths.tick(ma, 6_999);
  t.equal(s.paths.info(ma), undefined);
  s.paths.tick(ma, 7_000);
  t.equal(s.paths.info(ma)?.relay, 'server');
});

t.test('a relayed packet arriving while a direct path is active does not pull the session to the relay', async (t) => {
  const [us, a] = sortedKeys();
  const s = agentSide(us!, { nat: EDM });
  const m = memberSide(a!, us!);
  const server = s.udpLink('server', 'server', SERVER, 20);
  const ma = s.addMember(a!, 'ma', EDM);
  const d = makeEndpoint('203.0.113.9', 41641);
  s.arbiters.directUp(ma, { endpoint: d, kind: 'public', rttMs: 3, lastAnswerAt: 1_000 }, false);
  s.direct.splice(0); // the arbiter's keepalive (a handshake: no session yet)
  s.paths.onRelayed(server, 'ma', m.initiation(), 1_000);
  t.ok(sameEndpoint(peerOf(s, ma).endpoint, d), 'the peer stays on the direct path');
  t.same(
    s.direct.map((x) => [x.data[0], formatEndpoint(x.to)]),
    [[MSG_RESPONSE, '203.0.113.9:41641']],
    'the answer goes direct',
  );
  t.equal(s.sent().length, 0, 'nothing through the relay');
});

t.test('a link going down moves its members to another link on the next tick', async (t) => {
  const [us, a] = sortedKeys();
  const s = agentSide(us!, { nat: EDM, timing: { pathTimeoutMs: 60_000 } });
  const fast = s.udpLink('fast', 'server', SERVER, 10);
  const slow = s.udpLink('slow', 'bounce', BOUNCE, 20);
  const ma = s.addMember(a!, 'ma', EDM);
  s.paths.tick(ma, 100);
  t.equal(s.paths.info(ma)?.relay, 'fast');
  // The fast relay stops answering binds; the slow one keeps answering.
  s.links.tick(2_020); // both refresh now (bound at 10 and 20 ms)
  t.equal(s.answerBinds(BOUNCE, 2_021), 1);
  s.links.tick(4_021);
  t.equal(s.answerBinds(BOUNCE, 4_022), 1);
  s.links.tick(5_010);
  t.equal(fast.up, true, 'not yet: 5 s exactly');
  t.equal(s.paths.info(ma)?.relay, 'fast');
  s.links.tick(5_011);
  t.equal(fast.up, false);
  t.equal(s.paths.info(ma), undefined, 'off the dead link at once');
  s.paths.tick(ma, 5_011);
  t.equal(s.paths.info(ma)?.relay, 'slow', 'on the other link at the next tick');
  t.equal(slotsOf(peerOf(s, ma).endpoint)?.linkSlot, slow.slot);
  // Removed too: no relay left.
  s.links.remove('slow', 'left');
  t.equal(s.paths.info(ma), undefined);
  s.paths.tick(ma, 5_100);
  t.equal(s.paths.info(ma), undefined);
  t.equal(s.arbiters.stranded(ma, 5_100), true);
});

t.test('onUnreachable avoids that link for avoidMs; a better link wins back only by a clear margin', async (t) => {
  const [us, a, b] = sortedKeys();
  const s = agentSide(us!, { nat: EDM, timing: { avoidMs: 3_000 } });
  const fast = s.udpLink('fast', 'server', SERVER, 10);
  s.udpLink('slow', 'bounce', BOUNCE, 20);
  const ma = s.addMember(a!, 'ma', EDM);
  s.paths.tick(ma, 100);
  t.equal(s.paths.info(ma)?.relay, 'fast');
  s.paths.onUnreachable(fast, 'somebody-else', 1_000);
  t.equal(s.paths.info(ma)?.relay, 'fast', 'about another member: no change');
  s.paths.onUnreachable(fast, 'ma', 1_000);
  t.equal(s.paths.info(ma), undefined, 'dropped at once');
  s.paths.tick(ma, 1_000);
  t.equal(s.paths.info(ma)?.relay, 'slow', 'the other link, though slower');
  s.paths.tick(ma, 3_999);
  t.equal(s.paths.info(ma)?.relay, 'slow', 'still avoided');
  s.paths.tick(ma, 4_000);
  t.equal(s.paths.info(ma)?.relay, 'fast', 'back once the avoidance ends: 10 ms < 0.7 × 20 ms');
  t.equal(slotsOf(peerOf(s, ma).endpoint)?.linkSlot, fast.slot);

  // 15 ms against 20 ms is not enough to move.
  const s2 = agentSide(us!, { nat: EDM, timing: { avoidMs: 3_000 } });
  const f2 = s2.udpLink('fast', 'server', SERVER, 15);
  s2.udpLink('slow', 'bounce', BOUNCE, 20);
  const mb = s2.addMember(b!, 'mb', EDM);
  s2.paths.tick(mb, 100);
  s2.paths.onUnreachable(f2, 'mb', 100);
  s2.paths.tick(mb, 100);
  t.equal(s2.paths.info(mb)?.relay, 'slow');
  s2.paths.tick(mb, 5_000);
  t.equal(s2.paths.info(mb)?.relay, 'slow', '15 ms is not below 0.7 × 20 ms: stay');
});

t.test('a relayed disco ping is answered once, through the same link; reflected and forged ones are not', async (t) => {
  const [us, a] = sortedKeys();
  const s = agentSide(us!, { nat: EDM });
  const m = memberSide(a!, us!);
  const server = s.udpLink('server', 'server', SERVER, 20);
  s.links.setWs(true, 50);
  const ws = s.links.get('ws')!;
  const ma = s.addMember(a!, 'ma', EDM);
  const txid = newTxid();
  s.paths.onRelayed(server, 'ma', m.ping(txid), 1_000);
  let out = s.sent();
  t.same(
    out.map((r) => [r.link.key, r.id, r.payload.length]),
    [['server', 'ma', 61]],
    'one pong, back through the server to the member',
  );
  const pong = openDisco(m.keys.discoKey, out[0]!.payload) as DiscoPong | undefined;
  t.equal(pong?.type, DISCO_PONG);
  t.equal(pong?.side, ma.keys.side);
  t.ok(pong?.txid.equals(txid), 'echoes the txid');
  const observed = slotsOf(pong!.observed);
  t.equal(observed?.linkSlot, server.slot, 'observed: the virtual endpoint of that link');
  s.paths.onRelayed(server, 'ma', m.ping(txid), 1_001);
  t.equal(s.sent().length, 0, 'a replayed ping is not answered');
  t.equal(s.counts.get('disco_replayed_ping'), 1);
  s.paths.onRelayed(ws, 'ma', m.ping(), 1_002);
  out = s.sent();
  t.same(
    out.map((r) => [r.link.key, r.id]),
    [['ws', 'ma']],
    'a ping over the WebSocket is answered over the WebSocket',
  );
  t.equal(slotsOf((openDisco(m.keys.discoKey, out[0]!.payload) as DiscoPong).observed)?.linkSlot, ws.slot);
  // Our own ping reflected back, and one with the wrong key.
  s.paths.onRelayed(server, 'ma', encodePing(ma.keys.discoKey, ma.keys.side, ma.keys.pairId, newTxid()), 1_003);
  t.equal(s.counts.get('disco_reflected'), 1);
  s.paths.onRelayed(server, 'ma', encodePing(randomBytes(32), m.keys.side, m.keys.pairId, newTxid()), 1_004);
  t.equal(s.counts.get('disco_bad_tag'), 1);
  t.equal(s.sent().length, 0);
  t.equal(s.paths.info(ma), undefined, 'answering pings does not choose a relay');
  // The observed endpoint names this member's slot: the same one its relayed path uses.
  s.paths.tick(ma, 1_100);
  t.equal(slotsOf(peerOf(s, ma).endpoint)?.memberSlot, observed?.memberSlot);
});

t.test('pongs measure the relayed path; heartbeats every heartbeatMs', async (t) => {
  const [us, a] = sortedKeys();
  const s = agentSide(us!, { nat: EDM });
  const m = memberSide(a!, us!);
  const server = s.udpLink('server', 'server', SERVER, 20);
  const other = s.udpLink('other', 'bounce', BOUNCE, 30);
  const ma = s.addMember(a!, 'ma', EDM);
  s.paths.tick(ma, 1_000);
  const [p1] = pings(s.sent(), m);
  t.equal(p1?.link, server, 'a ping as the path comes up');
  s.paths.onRelayed(other, 'ma', m.pong(p1!.txid), 1_010);
  t.equal(s.paths.info(ma)?.rttMs, undefined, 'a pong through another link does not count');
  s.paths.onRelayed(server, 'ma', m.pong(newTxid()), 1_010);
  t.equal(s.paths.info(ma)?.rttMs, undefined, 'an unsolicited pong does not count');
  s.paths.onRelayed(server, 'ma', m.pong(p1!.txid), 1_037.25);
  t.equal(s.paths.info(ma)?.rttMs, 37.25);
  s.paths.onRelayed(server, 'ma', m.pong(p1!.txid), 1_100);
  t.equal(s.paths.info(ma)?.rttMs, 37.25, 'a txid is answered once');
  s.paths.tick(ma, 2_999);
  t.equal(pings(s.sent(), m).length, 0, 'no heartbeat before 2 s');
  s.paths.tick(ma, 3_000);
  const [p2] = pings(s.sent(), m);
  t.equal(p2?.link, server);
  s.paths.onRelayed(server, 'ma', m.pong(p2!.txid), 3_012);
  t.equal(s.paths.info(ma)?.rttMs, 12);
  t.equal(s.counts.size, 0, 'nothing counted as bad');
});

t.test('a silent relayed path is abandoned after pathTimeoutMs and its link avoided for avoidMs', async (t) => {
  const [us, a] = sortedKeys();
  const s = agentSide(us!, { nat: EDM, timing: { pathTimeoutMs: 6_000, avoidMs: 30_000 } });
  const m = memberSide(a!, us!);
  s.udpLink('fast', 'server', SERVER, 10);
  const slow = s.udpLink('slow', 'bounce', BOUNCE, 20);
  const ma = s.addMember(a!, 'ma', EDM);
  const history: string[] = [];
  const step = (now: number) => {
    s.paths.tick(ma, now);
    // The member answers only what comes through the slow link.
    for (const p of pings(s.sent(), m)) if (p.link === slow) s.paths.onRelayed(slow, 'ma', m.pong(p.txid), now + 5);
    const relay = s.paths.info(ma)?.relay ?? '-';
    if (history.at(-1)?.split('@')[0] !== relay) history.push(`${relay}@${now}`);
  };
  for (let now = 1_000; now <= 7_000; now += 500) step(now);
  t.same(history, ['fast@1000'], 'exactly pathTimeoutMs without an answer is still tolerated');
  step(7_001);
  t.same(history, ['fast@1000', 'slow@7001'], 'silent for longer: moved');
  t.equal(slotsOf(peerOf(s, ma).endpoint)?.linkSlot, slow.slot);
  for (let now = 7_500; now <= 37_000; now += 500) step(now);
  t.same(history, ['fast@1000', 'slow@7001'], 'the silent link is avoided, the answering one kept');
  t.equal(s.paths.info(ma)?.rttMs, 5);
  step(37_001);
  t.same(history, ['fast@1000', 'slow@7001', 'fast@37001'], 'tried again after avoidMs');

  // With a single link that never answers, the member is left with no relay.
  const s2 = agentSide(us!, { nat: EDM, timing: { pathTimeoutMs: 6_000, avoidMs: 30_000 } });
  s2.udpLink('only', 'server', SERVER, 10);
  const m2 = s2.addMember(a!, 'ma', EDM);
  s2.paths.tick(m2, 1_000);
  t.equal(s2.paths.info(m2)?.relay, 'only');
  s2.paths.tick(m2, 7_001);
  t.equal(s2.paths.info(m2), undefined);
  t.equal(s2.arbiters.stranded(m2, 7_001), true);
  s2.paths.tick(m2, 37_000);
  t.equal(s2.paths.info(m2), undefined);
  s2.paths.tick(m2, 37_001);
  t.equal(s2.paths.info(m2)?.relay, 'only', 'retried once the avoidance ends');
});

t.test('the follower (side 1) follows the link its peer’s packets come through; the leader does not', async (t) => {
  const [low, us, high] = sortedKeys();
  const s = agentSide(us!, { nat: EDM, timing: { pathTimeoutMs: 60_000 } });
  const fast = s.udpLink('fast', 'server', SERVER, 10);
  const slow = s.udpLink('slow', 'bounce', BOUNCE, 30);
  const leader = s.addMember(low!, 'leader', EDM); // lower key: it leads, we follow
  const follower = s.addMember(high!, 'follower', EDM);
  t.equal(leader.keys.side, 1, 'we are side 1 toward the lower key');
  t.equal(follower.keys.side, 0);
  const fromLeader = memberSide(low!, us!);
  const fromFollower = memberSide(high!, us!);
  s.paths.tick(leader, 1_000);
  s.paths.tick(follower, 1_000);
  t.equal(s.paths.info(leader)?.relay, 'fast');
  t.equal(s.paths.info(follower)?.relay, 'fast');
  s.sent();

  // The leader chose the slow relay: its handshake arrives through it.
  s.paths.onRelayed(slow, 'leader', fromLeader.initiation(), 1_500);
  t.equal(slotsOf(peerOf(s, leader).endpoint)?.linkSlot, slow.slot, 'the engine follows the packet to the slow link');
  t.same(
    s.sent().map((r) => [r.link.key, r.id, r.payload[0]]),
    [['slow', 'leader', MSG_RESPONSE]],
    'and answers through it',
  );
  s.paths.tick(leader, 1_520);
  t.equal(s.paths.info(leader)?.relay, 'slow', 'we follow the leader, though the fast link is faster');
  s.paths.tick(leader, 11_499);
  t.equal(s.paths.info(leader)?.relay, 'slow');
  s.paths.tick(leader, 11_500);
  t.equal(s.paths.info(leader)?.relay, 'fast', 'nothing from the leader for 10 s: our own choice again');
  t.same(
    s.sent().map((r) => [r.link.key, r.id, r.payload.length]),
    [
      ['slow', 'leader', PING_BYTES],
      ['slow', 'leader', PING_BYTES],
      ['fast', 'leader', PING_BYTES],
    ],
    'heartbeats on the followed link, then a ping on the fast one',
  );

  // A member we lead: its packets through another link do not move us, and are taken as ours.
  s.paths.onRelayed(slow, 'follower', fromFollower.initiation(), 1_500);
  t.equal(slotsOf(peerOf(s, follower).endpoint)?.linkSlot, fast.slot, 'the packet is taken as arriving on our link');
  t.same(
    s.sent().map((r) => [r.link.key, r.id, r.payload[0]]),
    [['fast', 'follower', MSG_RESPONSE]],
    'and answered through our link',
  );
  s.paths.tick(follower, 1_520);
  t.equal(s.paths.info(follower)?.relay, 'fast');

  // The followed link goes down: following stops at once.
  s.clock.advance(1_000);
  s.paths.onRelayed(slow, 'leader', fromLeader.initiation(), 12_000);
  s.paths.tick(leader, 12_000);
  t.equal(s.paths.info(leader)?.relay, 'slow');
  s.links.remove('slow', 'gone');
  s.paths.tick(leader, 12_001);
  t.equal(s.paths.info(leader)?.relay, 'fast');
});

t.test('only packets the engine authenticated steer the follower; answering() tells a live relayed path', async (t) => {
  const [low, us] = sortedKeys(2);
  const s = agentSide(us!, { nat: EDM, timing: { pathTimeoutMs: 6_000 } });
  s.udpLink('fast', 'server', SERVER, 10);
  const slow = s.udpLink('slow', 'bounce', BOUNCE, 30);
  const leader = s.addMember(low!, 'leader', EDM);
  const fromLeader = memberSide(low!, us!);
  s.paths.tick(leader, 1_000);
  t.equal(s.paths.info(leader)?.relay, 'fast');
  t.equal(s.paths.answering(leader, 1_000), false, 'not answered yet');
  const [p] = pings(s.sent(), fromLeader);
  s.paths.onRelayed(s.links.get('fast')!, 'leader', fromLeader.pong(p!.txid), 1_020);
  t.equal(s.paths.answering(leader, 1_020), true, 'answered: a live path');
  // Junk shaped like WireGuard through another relay (a hostile bounce, a spoofed source).
  for (const type of [1, 2, 4]) {
    const size = type === 1 ? 148 : type === 2 ? 92 : 64;
    const junk = Buffer.concat([Buffer.from([type, 0, 0, 0]), randomBytes(size - 4)]);
    s.paths.onRelayed(slow, 'leader', junk, 1_500);
  }
  const refused = ['rx_bad_mac1', 'rx_unknown_index'].reduce((n, k) => n + (s.device.counters.get(k) ?? 0), 0);
  t.equal(refused, 3, 'the junk reached the engine, which refused it');
  s.paths.tick(leader, 1_520);
  t.equal(s.paths.info(leader)?.relay, 'fast', 'unauthenticated packets do not move us');
  t.equal(slotsOf(peerOf(s, leader).endpoint)?.linkSlot, s.links.get('fast')!.slot, 'nor the engine');
  s.paths.onRelayed(slow, 'leader', fromLeader.initiation(), 1_600);
  s.paths.tick(leader, 1_620);
  t.equal(s.paths.info(leader)?.relay, 'slow', 'an authenticated one does');
  t.equal(s.paths.answering(leader, 1_620), false, 'a new link has to answer again');
});

t.test('onRelayed: unknown sources and payloads that are neither WireGuard nor disco are counted and dropped', async (t) => {
  const [us, a] = sortedKeys();
  const s = agentSide(us!, { nat: EDM });
  const server = s.udpLink('server', 'server', SERVER, 20);
  const ma = s.addMember(a!, 'ma', EDM);
  const transport = Buffer.from('04000000' + '00'.repeat(28), 'hex');
  s.paths.onRelayed(server, 'stranger', transport, 1_000);
  t.equal(s.counts.get('relay_unknown_source'), 1);
  s.paths.onRelayed(server, 'ma', Buffer.from('GET / HTTP/1.1\r\n\r\n'), 1_000);
  s.paths.onRelayed(server, 'ma', Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.alloc(100)]), 1_000); // an initiation of the wrong size
  t.equal(s.counts.get('relay_not_wireguard'), 2);
  t.equal(s.device.counters.size, 0, 'the engine saw none of it');
  t.equal(peerOf(s, ma).endpoint, undefined);
  // WireGuard-shaped: handed to the engine (which finds no session for it).
  s.paths.onRelayed(server, 'ma', transport, 1_000);
  t.equal(s.device.counters.get('rx_unknown_index'), 1);
  t.equal(s.counts.size, 2);
  t.equal(s.sent().length, 0);
});

t.test('stranded(): no direct path, no relay, and the budget spent', async (t) => {
  const [us, a] = sortedKeys();
  const s = agentSide(us!, { timing: { budgetMs: 1_000 } });
  const ma = s.addMember(a!, 'ma', EIM);
  t.equal(s.arbiters.stranded(ma, 0), false, 'never ticked');
  s.paths.tick(ma, 0);
  t.equal(s.arbiters.stranded(ma, 999), false, 'punching still has time');
  t.equal(s.arbiters.stranded(ma, 1_000), true, 'budget spent, no links at all');
  s.paths.tick(ma, 1_000);
  t.equal(s.arbiters.stranded(ma, 1_000), true);
  s.udpLink('server', 'server', SERVER, 20);
  t.equal(s.arbiters.stranded(ma, 1_100), true, 'a link exists but is not chosen until the next tick');
  s.paths.tick(ma, 1_100);
  t.equal(s.arbiters.stranded(ma, 1_100), false, 'relayed');
  s.arbiters.directUp(ma, { endpoint: makeEndpoint('203.0.113.9', 1), kind: 'public', rttMs: 1, lastAnswerAt: 1_200 }, false);
  t.equal(s.arbiters.stranded(ma, 1_200), false, 'direct');
  s.links.remove('server', 'gone');
  t.equal(s.arbiters.stranded(ma, 1_300), false, 'still direct');
  s.arbiters.directLost(ma);
  t.equal(s.arbiters.stranded(ma, 1_300), true, 'nothing left');
});

t.test('two agents hold one WireGuard session through a relay', async (t) => {
  const [ka, kb] = sortedKeys(2);
  const A = agentSide(ka!, { nat: EDM });
  const B = agentSide(kb!, { nat: EDM });
  const la = A.udpLink('server', 'server', SERVER, 4);
  const lb = B.udpLink('server', 'server', SERVER, 4);
  const bOnA = A.addMember(kb!, 'bb', EDM);
  const aOnB = B.addMember(ka!, 'aa', EDM);
  A.device.allowedIps.insert(parsePrefix('10.147.0.2/32'), peerOf(A, bOnA));
  B.device.allowedIps.insert(parsePrefix('10.147.0.1/32'), peerOf(B, aOnB));
  /** The relay: DATA for "bb" from A goes to B as coming from "aa", and back. */
  const pump = (now: number) => {
    for (let round = 0; round < 50; round++) {
      const fromA = A.sent();
      const fromB = B.sent();
      if (fromA.length + fromB.length === 0) return round;
      for (const r of fromA) {
        if (r.id !== 'bb' || r.link !== la) throw new Error('A sent elsewhere');
        B.paths.onRelayed(lb, 'aa', r.payload, now);
      }
      for (const r of fromB) {
        if (r.id !== 'aa' || r.link !== lb) throw new Error('B sent elsewhere');
        A.paths.onRelayed(la, 'bb', r.payload, now);
      }
    }
    throw new Error('the relay never went quiet');
  };
  A.paths.tick(bOnA, 1_000);
  B.paths.tick(aOnB, 1_000);
  pump(1_003);
  t.ok(peerOf(A, bOnA).current, 'A has a session');
  t.ok(peerOf(B, aOnB).current || peerOf(B, aOnB).next, 'B has a session');
  t.equal(A.paths.info(bOnA)?.rttMs, 3, 'A measured the relayed path');
  t.equal(B.paths.info(aOnB)?.rttMs, 3, 'B measured the relayed path');
  A.device.sendPacket(ipv4Packet('10.147.0.1', '10.147.0.2', 'over the relay'));
  pump(1_010);
  t.same(
    B.tun.map((p) => p.subarray(20).toString()),
    ['over the relay'],
  );
  B.device.sendPacket(ipv4Packet('10.147.0.2', '10.147.0.1', 'and back'));
  pump(1_020);
  t.same(
    A.tun.map((p) => p.subarray(20).toString()),
    ['and back'],
  );
  t.equal(A.direct.length + B.direct.length, 0, 'nothing went to the socket');
  t.ok(
    [...A.device.counters.keys(), ...B.device.counters.keys()].every((k) => !k.startsWith('rx_')),
    `no receive errors: ${JSON.stringify([...A.device.counters, ...B.device.counters])}`,
  );
  t.equal(A.counts.size + B.counts.size, 0);
});

t.test('member slots are 16-bit: after 0xffff members they wrap around to the first free one', async (t) => {
  const [us] = sortedKeys(1);
  const s = agentSide(us!, { nat: EDM });
  const server = s.udpLink('server', 'server', SERVER, 20);
  // A members fake: 65,535 real members (pair keys, path finders) would only slow this down.
  const byId = new Map<string, Member>();
  const member = (id: string) => {
    const m = { memberId: id, name: id } as Member;
    byId.set(id, m);
    return m;
  };
  const paths = new RelayPaths({ engine: deviceEngine(s.device), links: s.links, members: { byMember: (id: string) => byId.get(id) } as unknown as RoomMembers, arbiters: s.arbiters, log: quiet, count: () => undefined });
  const junk = Buffer.from('neither wireguard nor disco');
  const byIndex: Member[] = [];
  // Anything relayed from a member gives it a slot.
  for (let i = 1; i <= 0xffff; i++) paths.onRelayed(server, (byIndex[i] = member(`m${i}`)).memberId, junk, 0);
  const data = Buffer.from('04000000' + '00'.repeat(28), 'hex');
  const owner = (slot: number) => {
    paths.send(data, relayEndpoint(server.slot, slot));
    return s.sent().map((r) => r.id);
  };
  t.same(owner(1), ['m1']);
  t.same(owner(0xffff), ['m65535']);
  paths.forget(byIndex[3]!);
  paths.forget(byIndex[500]!);
  t.same(owner(3), [], 'a forgotten member’s slot delivers nowhere');
  paths.onRelayed(server, member('late').memberId, junk, 0);
  t.same(owner(3), ['late'], 'the first free slot after wrapping');
  paths.onRelayed(server, member('later').memberId, junk, 0);
  t.same(owner(500), ['later']);
  t.same(owner(4), ['m4'], 'the others keep theirs');
});
