// The NAT lab measured: for every kind of site, UDP probes toward three public echo targets
// tell the real mapping and filtering behaviour (nat-measure.ts), which must be the one the kind
// promises; then a router is switched in place and its state flushed.
//
//   t1 203.0.113.20, t2 203.0.113.21, t3 198.51.100.30 (routed through the internet namespace)
//   one site per kind behind them (nat-lab.ts), two cgnat homes behind the lab's one carrier
import t, { type Test } from 'tap';
import { NatLab, type Site } from './lib/nat-lab.js';
import { conntrackMapping, measureNat, type NatMeasurement, type Targets } from './lib/nat-measure.js';
import { requireRootOrSkip } from './lib/root.js';
import { tcpTransfer } from './lib/tcp-transfer.js';
import { EchoTarget, ProbeHost } from './lib/udp-probe.js';
import { sleep, waitFor } from './lib/process.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node'], probeName: 'nlt-probe' };
const PORT = 40000;

const addr = (endpoint: string | undefined): string | undefined => endpoint?.slice(0, endpoint.lastIndexOf(':'));

async function measure(t: Test, site: Site, targets: Targets, host = 0, port = PORT): Promise<NatMeasurement> {
  const m = await measureNat(site.hosts[host], site.hostAddresses[host], port, targets);
  t.teardown(() => m.probe.stop());
  t.comment(`${site.name} (${site.kind}) host ${host + 1}: via t1 ${m.viaT1}, via t2 ${m.viaT2}; mapping ${m.mapping}, filtering ${m.filtering}`);
  return m;
}

t.test('NAT lab: every kind measured', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  const lab = await NatLab.create(t, { prefix: 'nlt' });
  const pub = await Promise.all([
    lab.publicHost('t1', '203.0.113.20'),
    lab.publicHost('t2', '203.0.113.21'),
    lab.publicHost('t3', '198.51.100.30'),
  ]);
  const [t1, t2, t3] = await Promise.all(pub.map((ns, i) => EchoTarget.start(ns, ['203.0.113.20', '203.0.113.21', '198.51.100.30'][i])));
  const targets = { t1, t2, t3 };

  t.test('public: no NAT, nothing filtered', async (t) => {
    const site = await lab.site('pu', 'public');
    const m = await measure(t, site, targets);
    t.equal(m.viaT1, `${site.wanAddress}:${PORT}`, 'targets see the host itself');
    t.equal(m.mapping, 'no-nat');
    t.equal(m.filtering, 'endpoint-independent');
  });

  t.test('full-cone: EIM, EIF', async (t) => {
    const site = await lab.site('fc', 'full-cone');
    const m = await measure(t, site, targets);
    t.equal(addr(m.viaT1), site.wanAddress);
    t.equal(m.mapping, 'endpoint-independent');
    t.equal(m.filtering, 'endpoint-independent', 'a never-contacted address reaches the mapping');
    // The host answers the flow t3 started: that reply must leave through the same mapping.
    await t3.relay(m.viaT1!, `send ${t3.endpoint} whoami`);
    await waitFor(() => m.probe.received().find((d) => d.from === t3.endpoint && d.text.startsWith('seen ')), { timeoutMs: 3_000, what: 'answer from t3' });
    t.ok(m.probe.got(`seen ${m.viaT1}`), 't3 sees the same mapping for the flow it started');
  });

  t.test('restricted-cone: EIM, address-dependent filtering', async (t) => {
    const site = await lab.site('rc', 'restricted-cone');
    const m = await measure(t, site, targets);
    t.equal(addr(m.viaT1), site.wanAddress);
    t.equal(m.mapping, 'endpoint-independent');
    t.equal(m.filtering, 'address-dependent', 'another port of a contacted address gets in, another address does not');
    // Once the host sent to t3 (to a port where nothing listens), t3 may send from any port.
    await t1.relay(m.viaT1!, `send ${t3.address}:5000 hello`);
    await sleep(200);
    await t3.relay(m.viaT1!, 'after-contact');
    await waitFor(() => m.probe.got('after-contact'), { timeoutMs: 3_000, what: 't3 after the host contacted it' });
    t.pass('t3 reaches the mapping after the host contacted t3:5000');
  });

  t.test('port-restricted: EIM, address-and-port-dependent filtering', async (t) => {
    const site = await lab.site('pr', 'port-restricted');
    // A datagram that comes before the host ever sent must leave no trace: were it accepted by
    // the router, its conntrack entry would hold WAN:40000 toward t1 and push the host elsewhere.
    await t1.relay(`${site.wanAddress}:${PORT}`, 'too-early');
    const m = await measure(t, site, targets);
    t.equal(m.viaT1, `${site.wanAddress}:${PORT}`, 'masquerade keeps the port when it is free, even after an early inbound probe');
    t.notOk(m.probe.got('too-early'));
    t.equal(m.mapping, 'endpoint-independent');
    t.equal(m.filtering, 'address-and-port-dependent');
  });

  t.test('symmetric: EDM', async (t) => {
    const site = await lab.site('sy', 'symmetric');
    const m = await measure(t, site, targets);
    t.equal(addr(m.viaT1), site.wanAddress);
    t.equal(addr(m.viaT2), site.wanAddress);
    t.equal(m.mapping, 'endpoint-dependent', 'a new external port per destination');
    t.equal(m.filtering, 'address-and-port-dependent');
  });

  t.test('udp-blocked: UDP never leaves, TCP does', async (t) => {
    const site = await lab.site('ub', 'udp-blocked');
    const m = await measure(t, site, targets);
    t.equal(m.mapping, 'no-udp');
    t.notOk(t1.received().some((d) => addr(d.from) === site.wanAddress), 't1 got no datagram from the site');
    const tcp = await tcpTransfer(site.hosts[0], t1.ns, t1.address, { bytes: 100_000, port: 7001, timeoutMs: 15_000 });
    t.equal(tcp.receivedSha256, tcp.sentSha256, 'a TCP transfer to t1 goes through');
  });

  t.test('cgnat: double NAT, two homes behind one carrier', async (t) => {
    const home1 = await lab.site('cg1', 'cgnat');
    const home2 = await lab.site('cg2', 'cgnat');
    const carrier = home1.carrier!;
    t.equal(home2.carrier, carrier, 'both homes share the lab carrier');
    t.equal(carrier.natKind, 'symmetric');
    t.match(home1.routerWanAddress, /^100\.64\./, 'the home router has a 100.64 address');
    const m1 = await measure(t, home1, targets);
    const m2 = await measure(t, home2, targets);
    for (const [home, m] of [[home1, m1], [home2, m2]] as const) {
      t.equal(addr(m.viaT1), carrier.publicAddress, `${home.name}: seen as the carrier's public address`);
      // First translation: the home router, to its 100.64 address.
      const inner = await conntrackMapping(home.router!, home.hostAddresses[0], PORT, t1.address);
      t.equal(addr(inner), home.routerWanAddress, `${home.name}: the home NAT maps to ${inner}`);
      // Second: the carrier, from that 100.64 address to what t1 saw.
      const outer = await conntrackMapping(carrier.ns, home.routerWanAddress!, Number(inner!.split(':')[1]), t1.address);
      t.equal(outer, m.viaT1, `${home.name}: the carrier maps ${inner} to ${outer}`);
      t.equal(m.mapping, 'endpoint-dependent', `${home.name}: the symmetric carrier decides the mapping`);
      t.equal(m.filtering, 'address-and-port-dependent');
    }
    t.not(m1.viaT1, m2.viaT1, 'the homes get distinct public mappings');

    // A carrier of another kind, for tests that need a CGNAT which keeps mappings.
    const isp = await lab.carrier('isp', 'port-restricted');
    const home3 = await lab.site('cg3', 'cgnat', { carrier: isp });
    const m3 = await measure(t, home3, targets);
    t.equal(addr(m3.viaT1), isp.publicAddress);
    t.equal(m3.mapping, 'endpoint-independent', 'behind a port-restricted carrier the double NAT is EIM');
    t.equal(m3.filtering, 'address-and-port-dependent');
  });

  t.test('two-behind-one: one WAN address, distinct mappings, no hairpinning', async (t) => {
    const site = await lab.site('tb', 'two-behind-one');
    t.equal(site.hosts.length, 2);
    const a = await measure(t, site, targets, 0);
    const b = await measure(t, site, targets, 1);
    t.equal(addr(a.viaT1), site.wanAddress);
    t.equal(addr(b.viaT1), site.wanAddress, 'both hosts appear on the same WAN address');
    t.not(a.viaT1, b.viaT1, 'with distinct ports');
    t.equal(a.viaT1, `${site.wanAddress}:${PORT}`, 'the first host keeps its own port');
    t.equal(a.mapping, 'endpoint-independent');
    // Its 40000 taken, the second host gets a random port toward t1; toward t2 the kernel reuses
    // that binding (nf_nat looks up earlier flows of the same source first), so it stays EIM.
    t.equal(b.mapping, 'endpoint-independent', 'the second host on the same local port gets another port, kept for all destinations');
    t.equal(a.filtering, 'address-and-port-dependent');
    await t1.relay(a.viaT1!, `send ${b.viaT1} hairpin`);
    await t1.relay(b.viaT1!, 'control-b');
    await waitFor(() => b.probe.got('control-b'), { timeoutMs: 3_000, what: 'control to host 2' });
    await sleep(300);
    t.notOk(b.probe.got('hairpin'), 'host 1 cannot reach host 2 through the WAN address (no hairpinning)');
  });

  t.test('setNatKind: symmetric switched to port-restricted in place', async (t) => {
    const site = await lab.site('sw', 'symmetric');
    const before = await measure(t, site, targets);
    t.equal(before.mapping, 'endpoint-dependent');
    await before.probe.stop();
    await lab.setNatKind(site, 'port-restricted');
    t.equal(site.natKind, 'port-restricted');
    const kept = await measure(t, site, targets);
    t.same([kept.viaT1, kept.viaT2], [before.viaT1, before.viaT2], 'flows already in conntrack keep their old mappings');
    await kept.probe.stop();
    await lab.flushConntrack(site);
    const after = await measure(t, site, targets);
    t.equal(after.mapping, 'endpoint-independent', 'after a flush the same port is mapped the port-restricted way');
    t.equal(after.viaT1, `${site.wanAddress}:${PORT}`);
    t.equal(after.filtering, 'address-and-port-dependent');
  });

  t.test('flushConntrack closes the holes', async (t) => {
    for (const kind of ['port-restricted', 'full-cone'] as const) {
      const site = await lab.site(kind === 'full-cone' ? 'ff' : 'fp', kind);
      const probe = await ProbeHost.start(site.hosts[0], PORT, [t1]);
      t.teardown(() => probe.stop());
      const mapped = probe.mappedBy(t1)!;
      // Full cone: anyone may send; port-restricted: only the contacted endpoint.
      const sender = kind === 'full-cone' ? t3 : t1;
      await sender.relay(mapped, 'before-flush');
      await waitFor(() => probe.got('before-flush'), { timeoutMs: 3_000, what: `${kind}: datagram before the flush` });
      await lab.flushConntrack(site);
      t.equal(await conntrackMapping(site.router!, site.hostAddresses[0], PORT, t1.address), undefined, `${kind}: conntrack forgot the flow`);
      await sender.relay(mapped, 'after-flush');
      await sleep(300);
      t.notOk(probe.got('after-flush'), `${kind}: the same sender no longer reaches ${mapped}`);
    }
  });
});
