// "Why relayed?" (observe/why-relayed.ts): each NAT combination gets its code, words and hint;
// the fields carry both sides' behaviour, the candidates tried, the port mapping and birthday punching.
import t from 'tap';
import { makeEndpoint } from '../../shared/net/address.js';
import type { Candidate } from '../join/nat/candidates.js';
import type { NatInfo } from '../join/room/announcement.js';
import { formatWhyRelayed, natLabel, whyRelayed, type RelayFacts } from '../join/observe/why-relayed.js';
import { JoinNet } from './fixtures/join-net.js';

const SYMMETRIC: NatInfo = { mapping: 'endpoint-dependent', filtering: 'port-dependent' };
const PORT_RESTRICTED: NatInfo = { mapping: 'endpoint-independent', filtering: 'port-dependent' };
const CONE: NatInfo = { mapping: 'endpoint-independent', filtering: 'port-independent' };
const UNKNOWN: NatInfo = { mapping: 'unknown', filtering: 'unknown' };

const cand = (kind: Candidate['kind'], ip: string, port: number): Candidate => ({ kind, endpoint: makeEndpoint(ip, port) });

function facts(ours: NatInfo, theirs: NatInfo, over: Partial<RelayFacts> = {}): RelayFacts {
  return {
    ours: { nat: ours, candidates: [cand('lan', '192.168.1.2', 51820), cand('public', '198.51.100.1', 40001)], listenPort: 51820 },
    theirs: { nat: theirs, candidates: [cand('lan', '192.168.2.2', 51821), cand('public', '203.0.113.9', 50001)] },
    portmap: { enabled: true, ours: undefined },
    tried: ['lan 192.168.2.2:51821', 'public 203.0.113.9:50001'],
    failedSessions: 2,
    birthday: { state: 'not-applicable', attempts: 0 },
    ...over,
  };
}

t.test('NAT labels', async (t) => {
  t.equal(natLabel(SYMMETRIC), 'symmetric');
  t.equal(natLabel({ mapping: 'endpoint-dependent', filtering: 'port-independent' }), 'symmetric');
  t.equal(natLabel(PORT_RESTRICTED), 'port-restricted');
  t.equal(natLabel(CONE), 'cone');
  t.equal(natLabel(UNKNOWN), 'unknown');
  t.equal(natLabel({ mapping: 'endpoint-independent', filtering: 'unknown' }), 'unknown');
});

t.test('symmetric × symmetric: no direct path without port mapping', async (t) => {
  const w = whyRelayed(facts(SYMMETRIC, SYMMETRIC));
  t.equal(w.code, 'symmetric-both');
  t.match(w.reason, /symmetric × symmetric/);
  t.match(w.hint, /no direct path possible without port mapping/);
  t.same(w.ours, { ...SYMMETRIC, label: 'symmetric' });
  t.same(w.theirs, { ...SYMMETRIC, label: 'symmetric' });
  t.same(w.candidatesTried, ['lan 192.168.2.2:51821', 'public 203.0.113.9:50001']);
  t.same(w.portmap, { ours: 'none granted', theirs: 'none announced' });
  t.equal(w.birthday.state, 'not-applicable');
});

t.test('a granted mapping that still leaves the pair relayed hints at a double NAT', async (t) => {
  const theirs = [cand('portmap', '203.0.113.9', 60000), cand('public', '203.0.113.9', 50001)];
  const w = whyRelayed(facts(SYMMETRIC, SYMMETRIC, { theirs: { nat: SYMMETRIC, candidates: theirs } }));
  t.equal(w.portmap.theirs, '203.0.113.9:60000');
  t.match(w.hint, /double NAT/);
  const off = whyRelayed(facts(SYMMETRIC, SYMMETRIC, { portmap: { enabled: false, ours: undefined } }));
  t.equal(off.portmap.ours, 'off (--no-portmap)');
  const ours = whyRelayed(facts(SYMMETRIC, SYMMETRIC, { portmap: { enabled: true, ours: makeEndpoint('198.51.100.1', 7000) } }));
  t.equal(ours.portmap.ours, '198.51.100.1:7000');
});

t.test('symmetric × port-restricted, either way round, says how birthday punching went', async (t) => {
  const running = whyRelayed(facts(SYMMETRIC, PORT_RESTRICTED, { birthday: { state: 'running', role: 'hard', attempts: 1, sockets: 256 } }));
  t.equal(running.code, 'symmetric-vs-port-restricted');
  t.match(running.reason, /ours is symmetric, theirs port-restricted/);
  t.match(running.reason, /256 sockets open/);
  t.equal(running.hint, undefined, 'no hint while the first attempt runs');
  const failed = whyRelayed(facts(PORT_RESTRICTED, SYMMETRIC, { birthday: { state: 'pending', role: 'easy', attempts: 2, retryInMs: 39_500 } }));
  t.match(failed.reason, /theirs is symmetric, ours port-restricted/);
  t.match(failed.reason, /failed 2×, next try in 40 s/);
  t.match(failed.hint, /port mapping/);
  t.equal(failed.birthday.role, 'easy');
});

t.test('both behind one NAT with the same source port', async (t) => {
  const w = whyRelayed(
    facts(PORT_RESTRICTED, PORT_RESTRICTED, {
      ours: { nat: PORT_RESTRICTED, candidates: [cand('lan', '10.1.0.2', 51820), cand('public', '198.51.100.1', 51820)], listenPort: 51820 },
      theirs: { nat: PORT_RESTRICTED, candidates: [cand('lan', '10.2.0.2', 51820), cand('public', '198.51.100.1', 1024)] },
    }),
  );
  t.equal(w.code, 'same-nat-same-port');
  t.match(w.hint, /both behind one NAT with the same source port/);
  t.match(w.reason, /198\.51\.100\.1/);
  // Another public address, or another port: not this case.
  const other = whyRelayed(facts(PORT_RESTRICTED, PORT_RESTRICTED));
  t.equal(other.code, 'punch-failed');
});

t.test('unknown behaviour, no candidates, still punching', async (t) => {
  t.equal(whyRelayed(facts(UNKNOWN, PORT_RESTRICTED)).code, 'nat-unknown');
  t.match(whyRelayed(facts(UNKNOWN, UNKNOWN)).reason, /either side/);
  t.match(whyRelayed(facts(CONE, UNKNOWN, { failedSessions: 0 })).reason, /their side/);
  t.equal(whyRelayed(facts(CONE, UNKNOWN, { failedSessions: 0 })).hint, undefined);
  t.equal(whyRelayed(facts(CONE, CONE, { theirs: { nat: CONE, candidates: [] } })).code, 'no-candidates');
  const p = whyRelayed(facts(CONE, PORT_RESTRICTED, { failedSessions: 0 }));
  t.equal(p.code, 'punching');
  const f = whyRelayed(facts(CONE, PORT_RESTRICTED));
  t.equal(f.code, 'punch-failed');
  t.match(f.reason, /2 session\(s\) probing 2 candidate\(s\)/);
  t.match(f.hint, /firewall/);
});

t.test('the text form carries reason, hint and fields', async (t) => {
  const line = formatWhyRelayed(whyRelayed(facts(SYMMETRIC, SYMMETRIC)));
  t.match(line, /^relayed: symmetric × symmetric/);
  t.match(line, /hint: no direct path possible without port mapping/);
  t.match(line, /nat ours symmetric \(endpoint-dependent mapping, port-dependent filtering\)/);
  t.match(line, /tried lan 192\.168\.2\.2:51821, public 203\.0\.113\.9:50001/);
  t.match(line, /birthday not-applicable/);
});

t.test('JoinNet: status says why a relayed member is relayed, and a direct one carries no reason', async (t) => {
  const net = new JoinNet();
  t.teardown(() => net.closeAll());
  const a = await net.add('a', { nat: 'symmetric' });
  const b = await net.add('b', { nat: 'symmetric' });
  const c = await net.add('c', { nat: 'public' });
  const mb = () => a.agent.members.get(b.key.publicKey);
  const mc = () => a.agent.members.get(c.key.publicKey);
  t.ok((await net.until(() => !!mb() && a.agent.arbiters.route(mb()!) === 'relay' && !!mc() && a.agent.arbiters.route(mc()!) === 'direct', 30_000)) >= 0);
  const status = a.agent.control.status({ self: { name: undefined, publicKey: undefined, address: undefined, interface: 'jn-a', listenPort: 51820 }, peers: [b, c].map((n) => ({ name: undefined, publicKey: n.key.publicKey.toString('base64'), address: undefined, path: undefined, endpoint: undefined, rttMs: undefined, lastHandshake: undefined, rxBytes: 0, txBytes: 0, allowedIps: [] })), counters: {} });
  const pb = status.peers.find((p) => p.name === 'b')!;
  const pc = status.peers.find((p) => p.name === 'c')!;
  t.equal(pb.path, 'relay');
  t.ok(pb.whyRelayed, 'the relayed member has a reason');
  t.ok(pb.whyRelayed!.candidatesTried.some((x) => x.startsWith('public 203.0.113.')), 'the candidates tried are listed');
  t.same(pb.whyRelayed!.ours, { ...a.agent.local.nat, label: natLabel(a.agent.local.nat) }, 'our announced behaviour');
  t.equal(pc.whyRelayed, undefined, 'a direct member has none');
  const pinging = a.agent.control.ping({ peer: 'b' });
  await net.run(500);
  const ping = (await pinging) as { path: string; whyRelayed?: unknown };
  t.equal(ping.path, 'relay');
  t.ok(ping.whyRelayed, 'ping says why too');
});
