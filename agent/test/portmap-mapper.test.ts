// PortMapper on a virtual clock and a fake LAN: renewal timing, failover between protocols,
// change events, deletion on close, lease loss, probing, and hostile answers.
import t from 'tap';
import { PortMapper, RENEW_RETRY_MS, RETRY_MIN_MS } from '../portmap/port-mapper.js';
import type { PortMapping, PortmapProtocol } from '../portmap/types.js';
import { FakeClock, FakeLan, GATEWAY, type Sent } from './portmap-fakes.js';

const WG_PORT = 51820;

function setup(opts: { leaseS?: number; protocols?: PortmapProtocol[] } = {}) {
  const clock = new FakeClock();
  const lan = new FakeLan(clock);
  const changes: Array<PortMapping | undefined> = [];
  const mapper = new PortMapper({ internalPort: WG_PORT, gateway: GATEWAY, clock, udp: lan, http: lan, leaseS: opts.leaseS ?? 120, ...(opts.protocols ? { protocols: opts.protocols } : {}) });
  mapper.on('change', (m) => changes.push(m));
  return { clock, lan, mapper, changes };
}

const lifetimeOf = (s: Sent): number => Buffer.from(s.data).readUInt32BE(s.data[0] === 2 ? 4 : 8);

t.test('PCP first: mapping announced, renewed at half-life with the same nonce, deleted on close', async (t) => {
  const { clock, lan, mapper, changes } = setup();
  mapper.start();
  await clock.advance(10);
  t.same(changes, [{ protocol: 'pcp', externalAddress: '198.51.100.7', externalPort: 40000, internalPort: WG_PORT, lifetimeS: 120 }]);
  t.equal(lan.requests('pcp').length, 1);
  t.equal(lan.requests('natpmp').length, 0, 'NAT-PMP not asked when PCP answered');
  await clock.advance(59_000);
  t.equal(lan.requests('pcp').length, 1, 'no renewal before half-life');
  await clock.advance(1_000);
  const [first, renewal] = lan.requests('pcp');
  t.ok(renewal, 'renewed at 60 s');
  t.same(renewal!.data.subarray(24, 36), first!.data.subarray(24, 36), 'same nonce');
  t.equal(Buffer.from(renewal!.data).readUInt16BE(42), 40000, 'suggests the external port it had');
  t.equal(changes.length, 1, 'an unchanged renewal announces nothing');
  await mapper.close();
  const del = lan.requests('pcp').at(-1)!;
  t.equal(lifetimeOf(del), 0, 'close sends a MAP with lifetime 0');
  t.same(del.data.subarray(24, 36), first!.data.subarray(24, 36), 'deletion repeats the nonce');
  t.same(changes.at(-1), undefined, 'close announces the loss');
  t.equal(mapper.mapping, undefined);
  const before = lan.sent.length;
  await clock.advance(600_000);
  t.equal(lan.sent.length, before, 'nothing is sent after close');
});

t.test('the granted lifetime, not the asked one, sets the renewal time', async (t) => {
  const { clock, lan, mapper } = setup();
  lan.gw.grantS = 40;
  mapper.start();
  await clock.advance(19_999);
  t.equal(lan.requests('pcp').length, 1);
  await clock.advance(1);
  t.equal(lan.requests('pcp').length, 2, 'renewed at 20 s');
  await mapper.close();
});

t.test('failover: PCP refused by a NAT-PMP gateway at once, silent PCP and NAT-PMP after their timeouts', async (t) => {
  const a = setup();
  a.lan.gw.pcp = 'unsupported';
  a.mapper.start();
  await a.clock.advance(10);
  t.equal(a.mapper.mapping?.protocol, 'natpmp', 'NAT-PMP right after the version refusal');
  await a.mapper.close();
  t.equal(lifetimeOf(a.lan.requests('natpmp').at(-1)!), 0, 'deleted by NAT-PMP');

  const b = setup();
  b.lan.gw.pcp = 'silent';
  b.lan.gw.natpmp = 'silent';
  b.mapper.start();
  await b.clock.advance(1_999);
  t.equal(b.mapper.mapping, undefined);
  t.ok(b.lan.requests('pcp').length >= 3, 'PCP retransmitted');
  await b.clock.advance(2_100);
  t.equal(b.mapper.mapping?.protocol, 'upnp', 'UPnP after PCP and NAT-PMP timed out');
  t.equal(b.lan.http.filter((r) => r.method === 'POST' && /AddPortMapping/.test(r.body ?? '')).length, 1);
  await b.mapper.close();
  t.ok(b.lan.http.some((r) => /DeletePortMapping/.test(r.body ?? '')), 'deleted by UPnP');
});

t.test('a changed external endpoint is announced; a renewal that fails until expiry loses the mapping, then the others are tried', async (t) => {
  const { clock, lan, mapper, changes } = setup({ leaseS: 60 });
  mapper.start();
  await clock.advance(10);
  lan.gw.externalAddress = '198.51.100.99';
  await clock.advance(30_000);
  t.equal(changes.length, 2);
  t.equal(changes[1]?.externalAddress, '198.51.100.99', 'the new address is announced');
  lan.gw.pcp = 'silent';
  await clock.advance(30_000);
  t.ok(mapper.mapping, 'kept while the lease runs');
  const renewals = lan.requests('pcp').length;
  await clock.advance(RENEW_RETRY_MS);
  t.ok(lan.requests('pcp').length > renewals, 'renewal retried');
  await clock.advance(60_000);
  t.equal(mapper.mapping?.protocol, 'natpmp', 'after expiry NAT-PMP took over');
  t.ok(changes.includes(undefined), 'the loss was announced');
  t.equal(changes.at(-1)?.protocol, 'natpmp');
  await mapper.close();
});

t.test('nothing answers: retries back off, and the first success resets it', async (t) => {
  const { clock, lan, mapper } = setup();
  Object.assign(lan.gw, { pcp: 'silent', natpmp: 'silent', upnp: 'silent' });
  mapper.start();
  await clock.advance(10_000);
  t.equal(mapper.stats.failedAttempts, 1);
  const n = lan.requests('pcp').length;
  await clock.advance(RETRY_MIN_MS - 6_000);
  t.equal(lan.requests('pcp').length, n, 'no retry before the backoff');
  await clock.advance(10_000);
  t.ok(lan.requests('pcp').length > n, 'retried after the backoff');
  lan.gw.natpmp = 'ok';
  await clock.advance(60_000);
  t.equal(mapper.mapping?.protocol, 'natpmp');
  await mapper.close();
});

t.test('probe tells which protocols the gateway speaks and maps nothing', async (t) => {
  const { clock, lan, mapper } = setup();
  lan.gw.natpmp = 'silent';
  const p = mapper.probe();
  await clock.advance(5_000);
  t.same(await p, { gateway: GATEWAY, pcp: true, natpmp: false, upnp: true });
  t.notOk(lan.sent.some((s) => s.data[0] === 2 && s.data[1] === 1), 'no PCP MAP sent');
  t.notOk(lan.http.some((r) => /AddPortMapping/.test(r.body ?? '')), 'no UPnP mapping');
  await mapper.close();
});

t.test("a gateway restart (epoch behind) is noticed", async (t) => {
  const { clock, lan, mapper } = setup();
  mapper.start();
  await clock.advance(10);
  lan.gw.epoch = 3;
  await clock.advance(60_000);
  t.equal(mapper.stats.gatewayResets, 1);
  await mapper.close();
});

t.test('hostile answers: from another LAN device, spoofed with a wrong nonce, garbage: counted, the real answer wins', async (t) => {
  const { clock, lan, mapper, changes } = setup();
  lan.hostile = (req) => {
    const forged = Buffer.from(req.data);
    forged[1] = 0x81;
    forged.writeUInt16BE(6666, 42);
    forged[54] = 0xff; forged[55] = 0xff; forged.set([6, 6, 6, 6], 56);
    const badNonce = Buffer.from(forged);
    badNonce[24] = badNonce[24]! ^ 0xff;
    return [
      [{ address: '192.168.1.66', port: 5351 }, forged], // a second "gateway"
      [{ address: GATEWAY, port: 5351 }, badNonce],
      [{ address: GATEWAY, port: 5351 }, new Uint8Array(5000)],
      [{ address: GATEWAY, port: 5351 }, Uint8Array.of(2)],
    ];
  };
  mapper.start();
  await clock.advance(10);
  t.equal(changes.length, 1);
  t.equal(changes[0]?.externalPort, 40000, 'the real gateway mapping, not the forged one');
  t.match(mapper.rejected, { 'pcp:wrong-source': 1, 'pcp:nonce-mismatch': 1, 'pcp:oversized': 1, 'pcp:short': 1 });
  await mapper.close();
});

t.test('UPnP: an SSDP answer pointing away from the gateway, from the gateway, is refused', async (t) => {
  const { clock, lan, mapper } = setup({ protocols: ['upnp'] });
  lan.gw.upnp = 'silent';
  lan.hostile = (req) =>
    req.to.port === 1900
      ? [[{ address: GATEWAY, port: 1900 }, new TextEncoder().encode('HTTP/1.1 200 OK\r\nLOCATION: http://192.168.1.66:80/d.xml\r\n\r\n')]]
      : [];
  mapper.start();
  await clock.advance(3_000);
  t.equal(mapper.mapping, undefined);
  t.equal(lan.http.length, 0, 'the impostor location was never fetched');
  t.ok((mapper.rejected['upnp:bad-location'] ?? 0) > 0);
  await mapper.close();
});

t.test('UPnP: a description whose control URL leaves the gateway is refused', async (t) => {
  const { clock, lan, mapper } = setup({ protocols: ['upnp'] });
  lan.description = lan.description.replace('/ctl/IPConn', 'http://192.168.1.66/ctl');
  mapper.start();
  await clock.advance(3_000);
  t.equal(mapper.mapping, undefined);
  t.equal(mapper.rejected['upnp:bad-location'], 1);
  t.notOk(lan.http.some((r) => r.method === 'POST'), 'no SOAP sent to the impostor');
  await mapper.close();
});

t.test('a private external address is no mapping', async (t) => {
  const { clock, lan, mapper } = setup({ protocols: ['pcp', 'natpmp'] });
  lan.gw.externalAddress = '10.0.0.1';
  mapper.start();
  await clock.advance(5_000);
  t.equal(mapper.mapping, undefined);
  t.ok((mapper.rejected['pcp:private-external'] ?? 0) > 0);
  t.ok((mapper.rejected['natpmp:private-external'] ?? 0) > 0);
  await mapper.close();
});
