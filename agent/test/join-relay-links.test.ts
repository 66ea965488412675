// RelayLinks: binding to UDP relays (BIND, BOUND, refresh, down, backoff), the WebSocket link,
// and sending through a link. A fake context collects what would go on the socket; time is explicit.
import t from 'tap';
import { makeEndpoint, sameEndpoint, type Endpoint } from '../../shared/net/address.js';
import { decodeRelayPacket, decodeWsFrame, RELAY_BIND, RELAY_DATA, type RelayPacket } from '../../shared/wire/relay.js';
import { createLogger } from '../../shared/log.js';
import { RelayLinks, type RelayLink } from '../join/paths/relay/relay-links.js';

const quiet = createLogger({ level: 'error', write: () => undefined });

type Bind = Extract<RelayPacket, { type: typeof RELAY_BIND }>;

function harness(opts: { wsOk?: boolean; inUse?: () => boolean } = {}) {
  const queued: { data: Buffer; to: Endpoint }[] = [];
  const ws: Buffer[] = [];
  const down: RelayLink[] = [];
  const links = new RelayLinks({
    queue: (data, to) => queued.push({ data: Buffer.from(data), to }),
    sendWs: (frame) => {
      ws.push(Buffer.from(frame));
      return opts.wsOk ?? true;
    },
    log: quiet,
    linkDown: (l) => down.push(l),
    inUse: opts.inUse,
  });
  /** Takes the BINDs queued since the last call, decoded, with where they went. */
  const binds = (): { bind: Bind; to: Endpoint }[] =>
    queued.splice(0).map((q) => {
      const p = decodeRelayPacket(q.data);
      if (p?.type !== RELAY_BIND) throw new Error(`not a BIND: ${q.data.toString('hex')}`);
      return { bind: p, to: q.to };
    });
  return { links, queued, ws, down, binds };
}

const relay = makeEndpoint('198.51.100.10', 3479);
const lan = makeEndpoint('192.168.1.20', 51820);
const pub = makeEndpoint('203.0.113.20', 40000);
const auth = Buffer.from('token-bytes');
const creds = () => ({ id: 'me-1', auth });

t.test('a new UDP link binds to every target on the first tick, with our credentials', async (t) => {
  const h = harness();
  const link = h.links.upsert('B', 'bounce', 'bob', [pub, lan], creds);
  t.equal(link.slot, 1);
  t.equal(link.up, false);
  t.equal(link.endpoint, undefined);
  t.equal(h.binds().length, 0, 'nothing before the tick');
  h.links.tick(1_000);
  const sent = h.binds();
  t.equal(sent.length, 2);
  t.ok(sameEndpoint(sent[0]!.to, pub) && sameEndpoint(sent[1]!.to, lan), 'one to each target, in order');
  for (const s of sent) {
    t.equal(s.bind.id, 'me-1');
    t.ok(s.bind.auth.equals(auth));
    t.equal(s.bind.txid.length, 12);
  }
  t.notOk(sent[0]!.bind.txid.equals(sent[1]!.bind.txid), 'a txid per target');
  t.equal(link.bindAttempts, 1);
  h.links.tick(1_500);
  t.equal(h.binds().length, 0, 'no retry before RETRY_MS');
  h.links.tick(2_000);
  t.equal(h.binds().length, 2, 'retried after 1 s');
});

t.test('a CHALLENGE is answered at once by the same BIND with its cookie; BOUND then brings the link up', async (t) => {
  const h = harness();
  const link = h.links.upsert('S', 'server', 'server', [relay], creds);
  h.links.tick(1_000);
  const [first] = h.binds();
  t.equal(first!.bind.cookie, undefined, 'the first BIND carries no cookie');
  const cookie = Buffer.alloc(16, 0xc0);
  h.links.onChallenge(first!.bind.txid, cookie, pub, 1_005);
  h.links.onChallenge(Buffer.alloc(12, 1), cookie, relay, 1_005);
  t.equal(h.binds().length, 0, 'a challenge from elsewhere, or for a txid we did not send, is ignored');
  h.links.onChallenge(first!.bind.txid, cookie, relay, 1_010);
  const [second] = h.binds();
  t.ok(second && sameEndpoint(second.to, relay), 'answered to the relay');
  t.ok(second!.bind.txid.equals(first!.bind.txid), 'same txid');
  t.ok(second!.bind.cookie?.equals(cookie), 'with the cookie');
  t.equal(second!.bind.id, 'me-1');
  t.equal(link.up, false, 'not up on a challenge');
  h.links.onChallenge(first!.bind.txid, cookie, relay, 1_015);
  t.equal(h.binds().length, 0, 'a BIND is answered for one challenge only');
  h.links.onBound(first!.bind.txid, relay, 1_030);
  t.equal(link.up, true);
  t.equal(link.rttMs, 20, 'the RTT of the second round');
});

t.test('BOUND from the right endpoint with the right txid brings the link up', async (t) => {
  const h = harness();
  const link = h.links.upsert('B', 'bounce', 'bob', [pub, lan], creds);
  h.links.tick(1_000);
  const [toPub, toLan] = h.binds();
  // The answer to the LAN bind, but from the public address: refused.
  h.links.onBound(toLan!.bind.txid, pub, 1_010);
  t.equal(link.up, false, 'txid of another target');
  h.links.onBound(Buffer.alloc(12, 7), lan, 1_010);
  t.equal(link.up, false, 'unknown txid');
  h.links.onBound(toLan!.bind.txid, makeEndpoint('192.168.1.20', 51821), 1_010);
  t.equal(link.up, false, 'same address, other port');
  t.equal(h.links.byEndpoint(lan), undefined);
  h.links.onBound(toLan!.bind.txid, lan, 1_012.5);
  t.equal(link.up, true);
  t.ok(sameEndpoint(link.endpoint, lan), 'the endpoint that answered');
  t.equal(link.rttMs, 12.5);
  t.equal(link.lastBoundAt, 1_012.5);
  t.equal(h.links.byEndpoint(lan), link);
  t.equal(h.links.byEndpoint(pub), undefined, 'the other target is not the link');
  // The same BOUND again (a duplicate) changes nothing; the public answer later does not move it.
  h.links.onBound(toLan!.bind.txid, lan, 1_500);
  t.equal(link.lastBoundAt, 1_012.5, 'a txid is good once');
  h.links.onBound(toPub!.bind.txid, pub, 1_030);
  t.ok(sameEndpoint(link.endpoint, lan), 'a later answer from another target does not move the link');
  t.equal(link.rttMs, 30, 'but measures');
  t.equal(h.down.length, 0);
});

t.test('a bound link refreshes every 2 s, only where it answered; silent for > 5 s it goes down', async (t) => {
  const h = harness();
  const link = h.links.upsert('B', 'bounce', 'bob', [pub, lan], creds);
  h.links.tick(0);
  const first = h.binds();
  h.links.onBound(first[0]!.bind.txid, pub, 20);
  t.equal(link.nextBindAt, 2_020);
  h.links.tick(1_000); // the retry time of the unbound schedule has passed: no bind while up
  t.equal(h.binds().length, 0, 'nothing before the refresh');
  h.links.tick(2_019);
  t.equal(h.binds().length, 0);
  h.links.tick(2_020);
  let sent = h.binds();
  t.equal(sent.length, 1, 'one refresh');
  t.ok(sameEndpoint(sent[0]!.to, pub), 'to the answering endpoint only');
  t.equal(link.bindAttempts, 0);
  h.links.onBound(sent[0]!.bind.txid, pub, 2_030);
  t.equal(link.rttMs, 10);
  t.equal(link.lastBoundAt, 2_030);
  h.links.tick(4_020);
  sent = h.binds();
  t.equal(sent.length, 1);
  // From here on the relay stays silent.
  h.links.tick(6_020);
  t.equal(h.binds().length, 1, 'still refreshing');
  h.links.tick(7_030);
  t.equal(link.up, true, 'exactly 5 s is not yet down');
  t.equal(h.down.length, 0);
  h.links.tick(7_031);
  t.equal(link.up, false, 'down after 5 s without BOUND');
  t.equal(link.endpoint, undefined);
  t.same(h.down, [link], 'linkDown once');
  t.equal(h.binds().length, 0, 'the next bind waits for the schedule');
  h.links.tick(8_019);
  t.equal(h.binds().length, 0);
  h.links.tick(8_020);
  sent = h.binds();
  t.same(
    sent.map((s) => s.to),
    [pub, lan],
    'down: binding again to every target',
  );
  h.links.tick(8_100);
  t.equal(h.down.length, 1, 'not again while down');
  // The relay answers again, on the LAN address this time.
  h.links.onBound(sent[1]!.bind.txid, lan, 8_025);
  t.equal(link.up, true);
  t.equal(link.rttMs, 5);
  t.ok(sameEndpoint(link.endpoint, lan));
});

t.test('unbound retries back off, capped at 10 s', async (t) => {
  const h = harness();
  h.links.upsert('S', 'server', 'server', [relay], creds);
  const times: number[] = [];
  for (let now = 0; now <= 120_000; now += 100) {
    h.links.tick(now);
    if (h.binds().length > 0) times.push(now);
  }
  const gaps = times.slice(1).map((x, i) => x - times[i]!);
  t.same(gaps.slice(0, 10), [1_000, 1_000, 1_000, 1_000, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  t.ok(gaps.length > 15, 'kept trying for the whole two minutes');
  t.ok(gaps.slice(8).every((g) => g === 10_000), 'never more than 10 s');
  t.ok(gaps.every((g, i) => i === 0 || g >= gaps[i - 1]!), 'never shrinks');
});

t.test('no credentials, no BIND; they come later and binding starts', async (t) => {
  const h = harness();
  let have: { id: string; auth: Buffer } | undefined;
  const link = h.links.upsert('S', 'server', 'server', [relay], () => have);
  for (let now = 0; now < 5_000; now += 100) h.links.tick(now);
  t.equal(h.queued.length, 0);
  t.equal(link.bindAttempts, 0, 'not counted as attempts');
  have = { id: 'later', auth: Buffer.alloc(0) };
  h.links.tick(5_000);
  const sent = h.binds();
  t.equal(sent.length, 1);
  t.equal(sent[0]!.bind.id, 'later');
  t.equal(sent[0]!.bind.auth.length, 0);
});

t.test('changed targets rebind at once; an endpoint no longer among them takes the link down', async (t) => {
  const h = harness();
  const link = h.links.upsert('B', 'bounce', 'bob', [pub], creds);
  h.links.tick(0);
  h.links.onBound(h.binds()[0]!.bind.txid, pub, 5);
  t.equal(link.up, true);
  // The same targets: nothing happens.
  t.equal(h.links.upsert('B', 'bounce', 'bob2', [makeEndpoint('203.0.113.20', 40000)], creds), link, 'same link object');
  t.equal(link.label, 'bob2', 'label updated');
  h.links.tick(100);
  t.equal(h.binds().length, 0, 'same targets: no rebind');
  // A target added, the bound one kept: still up, refreshes at once where it is bound.
  h.links.upsert('B', 'bounce', 'bob', [pub, lan], creds);
  t.equal(link.up, true);
  h.links.tick(200);
  let sent = h.binds();
  t.equal(sent.length, 1);
  t.ok(sameEndpoint(sent[0]!.to, pub));
  // The bound endpoint is gone from the targets: down, linkDown, bind the new ones at once.
  const moved = makeEndpoint('203.0.113.99', 40001);
  h.links.upsert('B', 'bounce', 'bob', [moved, lan], creds);
  t.equal(link.up, false);
  t.same(h.down, [link]);
  h.links.tick(300);
  sent = h.binds();
  t.same(
    sent.map((s) => s.to),
    [moved, lan],
  );
  t.equal(link.slot, 1, 'the slot stays');
});

t.test('remove() calls linkDown, and a late BOUND for it is ignored; a new link gets a new slot', async (t) => {
  const h = harness();
  const link = h.links.upsert('B', 'bounce', 'bob', [pub], creds);
  h.links.tick(0);
  const [b] = h.binds();
  h.links.remove('B', 'left');
  t.equal(link.up, false);
  t.same(h.down, [link]);
  t.equal(h.links.get('B'), undefined);
  t.equal(h.links.slot(1), undefined);
  h.links.remove('B', 'again');
  t.equal(h.down.length, 1, 'removing an unknown key does nothing');
  const again = h.links.upsert('B', 'bounce', 'bob', [pub], creds);
  t.equal(again.slot, 2, 'a new slot');
  h.links.onBound(b!.bind.txid, pub, 10);
  t.equal(again.up, false, 'the old link’s bind does not bring up the new one');
  t.equal(link.up, false);
  t.equal(h.links.slot(2), again);
});

t.test('the WebSocket link: up and down with the connection, linkDown on down, never BINDs', async (t) => {
  const h = harness();
  h.links.setWs(true, 42);
  const ws = h.links.get('ws')!;
  t.equal(ws.kind, 'ws');
  t.equal(ws.up, true);
  t.equal(ws.rttMs, 42);
  h.links.tick(0);
  h.links.tick(60_000);
  t.equal(h.queued.length, 0, 'no BIND for the WebSocket');
  t.equal(ws.up, true, 'never times out');
  h.links.setWs(true, 50);
  t.equal(ws.rttMs, 50);
  t.equal(h.down.length, 0);
  h.links.setWs(false, undefined);
  t.equal(ws.up, false);
  t.same(h.down, [ws]);
  h.links.setWs(false, undefined);
  t.equal(h.down.length, 1, 'not twice');
  h.links.setWs(true, 7);
  t.equal(ws.up, true);
  t.equal(h.links.get('ws'), ws, 'the same link');
  t.equal(h.links.all().length, 1);
});

t.test('send(): over ws as a frame, over UDP as DATA to the bound endpoint, false when down', async (t) => {
  const h = harness();
  const payload = Buffer.from('0400000000000000', 'hex');
  h.links.setWs(true, 1);
  const ws = h.links.get('ws')!;
  t.equal(h.links.send(ws, 'peer-9', payload), true);
  t.equal(h.ws.length, 1);
  const f = decodeWsFrame(h.ws[0]!);
  t.equal(f?.id, 'peer-9');
  t.ok(f?.payload.equals(payload));
  t.equal(h.queued.length, 0, 'nothing on UDP');

  const refusing = harness({ wsOk: false });
  refusing.links.setWs(true, 1);
  t.equal(refusing.links.send(refusing.links.get('ws')!, 'peer-9', payload), false, 'sendWs refused');

  const udp = h.links.upsert('S', 'server', 'server', [relay], creds);
  t.equal(h.links.send(udp, 'peer-9', payload), false, 'not bound yet');
  h.links.tick(0);
  h.links.onBound(h.binds()[0]!.bind.txid, relay, 3);
  t.equal(h.links.send(udp, 'peer-9', payload), true);
  t.equal(h.queued.length, 1);
  t.ok(sameEndpoint(h.queued[0]!.to, relay));
  const d = decodeRelayPacket(h.queued[0]!.data);
  t.equal(d?.type, RELAY_DATA);
  t.same(d && d.type === RELAY_DATA ? [d.id, d.payload.toString('hex')] : undefined, ['peer-9', payload.toString('hex')]);
  h.queued.length = 0;

  h.links.setWs(false, undefined);
  t.equal(h.links.send(ws, 'peer-9', payload), false, 'ws down');
  t.equal(h.ws.length, 1, 'nothing sent');
  h.links.tick(5_004);
  t.equal(udp.up, false);
  h.queued.length = 0;
  t.equal(h.links.send(udp, 'peer-9', payload), false, 'udp down');
  t.equal(h.queued.length, 0);
});

t.test('byEndpoint finds the UDP link bound at an endpoint; rebindAll binds every link now', async (t) => {
  const h = harness();
  const a = h.links.upsert('A', 'bounce', 'a', [pub], creds);
  const s = h.links.upsert('S', 'server', 'server', [relay], creds);
  h.links.setWs(true, 1);
  h.links.tick(0);
  const sent = h.binds();
  t.equal(sent.length, 2);
  for (const x of sent) h.links.onBound(x.bind.txid, x.to, 1);
  t.equal(h.links.byEndpoint(pub), a);
  t.equal(h.links.byEndpoint(relay), s);
  t.equal(h.links.byEndpoint(lan), undefined);
  t.same(
    h.links.all().map((l) => [l.key, l.slot]),
    [
      ['A', 1],
      ['S', 2],
      ['ws', 3],
    ],
  );
  h.links.tick(100);
  t.equal(h.binds().length, 0);
  h.links.rebindAll();
  h.links.tick(200);
  t.same(
    h.binds().map((x) => x.to),
    [pub, relay],
  );
});

t.test('link slots are 16-bit: after 0xffff they wrap around to the first free one', async (t) => {
  const h = harness();
  for (let i = 1; i <= 0xffff; i++) h.links.upsert(`k${i}`, 'bounce', `k${i}`, [], creds);
  t.equal(h.links.get('k65535')?.slot, 0xffff);
  h.links.remove('k3', 'left');
  h.links.remove('k70', 'left');
  const a = h.links.upsert('new-a', 'bounce', 'a', [], creds);
  t.equal(a.slot, 3, 'the first free slot after wrapping');
  t.equal(h.links.slot(3), a);
  const b = h.links.upsert('new-b', 'bounce', 'b', [], creds);
  t.equal(b.slot, 70);
  t.equal(h.links.all().length, 0xffff);
});

t.test('a bounce that never bound: BINDs to at most 4 of its announced targets, backing off to a minute', async (t) => {
  // An insider may announce a bounce whose 16 targets are someone else's addresses.
  const h = harness();
  const targets = Array.from({ length: 16 }, (_, i) => makeEndpoint(`192.0.2.${i + 1}`, 51820));
  h.links.upsert('B', 'bounce', 'b', targets, creds);
  let sent = 0;
  const to = new Set<string>();
  for (let now = 0; now <= 5 * 60_000; now += 100) {
    h.links.tick(now);
    for (const b of h.binds()) {
      sent++;
      to.add(b.to.address);
    }
  }
  t.ok(to.size <= 4, `${to.size} addresses bound to`);
  t.ok(sent <= 4 * 20, `${sent} BINDs in five minutes`);
});

t.test('a link no member uses refreshes every 25 s, and at once when one starts using it', async (t) => {
  let used = false;
  const h = harness({ inUse: () => used });
  const link = h.links.upsert('S', 'server', 'server', [relay], creds);
  const sentAt: number[] = [];
  for (let now = 0; now <= 120_000; now += 100) {
    h.links.tick(now);
    for (const b of h.binds()) {
      sentAt.push(now);
      h.links.onBound(b.bind.txid, relay, now + 5);
    }
  }
  const gaps = sentAt.slice(2).map((x, i) => x - sentAt[i + 1]!);
  t.ok(gaps.length >= 3 && gaps.every((g) => g === 25_000), `idle refresh every 25 s (${gaps.join(', ')})`);
  t.equal(link.up, true, 'and the link stays up between refreshes');
  used = true;
  h.links.wake(link, 120_050);
  h.links.tick(120_100);
  t.equal(h.binds().length, 1, 'a member moving onto it refreshes it at once');
  h.links.tick(122_100);
  t.equal(h.binds().length, 1, 'then every 2 s while in use');
  h.links.tick(127_101);
  t.equal(link.up, false, 'unanswered: down 5 s after its last answer, as before');
});
