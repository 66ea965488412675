// The port-mapping decoders are total: for valid answers they give the mapping, for every
// hostile or broken input (and for many thousand random ones, and mutations of valid ones)
// they return a reason and never throw. fast-check is not a dependency: a seeded PRNG instead.
import t from 'tap';
import { parseProcNetRoute } from '../portmap/gateway.js';
import { isPublicIPv4 } from '../portmap/ipv4.js';
import { GATEWAY_MAX_SIZE } from '../portmap/gateway-wire.js';
import { decodeNatpmpExternalAddress, decodeNatpmpMap, encodeNatpmpMap } from '../portmap/natpmp.js';
import { decodePcpAnnounce, decodePcpMap, encodePcpMap, newPcpNonce, type PcpMapRequest } from '../portmap/pcp.js';
import { decodeSsdpAnswer, SSDP_MAX_SIZE } from '../portmap/ssdp.js';
import { parseDeviceDescription, parseSoapResponse, UPNP_MAX_DOCUMENT } from '../portmap/upnp-xml.js';

const GW = '192.168.1.1';
const req: PcpMapRequest = { nonce: newPcpNonce(), internalPort: 51820, lifetimeS: 120, clientAddress: '192.168.1.20' };

function pcpAnswer(over: { nonce?: Uint8Array; result?: number; lifetime?: number; port?: number; ext?: number[]; opcode?: number } = {}): Buffer {
  const b = Buffer.from(encodePcpMap(req));
  b[1] = 0x80 | (over.opcode ?? 1);
  b[3] = over.result ?? 0;
  b.writeUInt32BE(over.lifetime ?? 120, 4);
  b.writeUInt32BE(77, 8);
  b.fill(0, 12, 24);
  if (over.nonce) Buffer.from(over.nonce).copy(b, 24);
  b.writeUInt16BE(over.port ?? 40000, 42);
  b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...(over.ext ?? [198, 51, 100, 7])], 44);
  return b;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}
const randomBytes = (r: () => number, n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));

t.test('PCP MAP answers', async (t) => {
  const ok = decodePcpMap(pcpAnswer(), req);
  t.ok(ok.ok && 'externalPort' in ok.value && ok.value.externalPort === 40000 && ok.value.externalAddress === '198.51.100.7' && ok.value.epoch === 77);
  const cases: Array<[string, Uint8Array]> = [
    ['short', pcpAnswer().subarray(0, 40)],
    ['short', pcpAnswer().subarray(0, 1)],
    ['oversized', new Uint8Array(GATEWAY_MAX_SIZE + 4)],
    ['bad-version', Buffer.from([3, ...pcpAnswer().subarray(1)])],
    ['not-response', Buffer.from(encodePcpMap(req))],
    ['bad-opcode', pcpAnswer({ opcode: 2 })],
    ['nonce-mismatch', pcpAnswer({ nonce: newPcpNonce() })],
    ['bad-port', pcpAnswer({ port: 0 })],
    ['zero-lifetime', pcpAnswer({ lifetime: 0 })],
    ['private-external', pcpAnswer({ ext: [0, 0, 0, 0] })],
    ['private-external', pcpAnswer({ ext: [192, 168, 0, 9] })],
    ['private-external', pcpAnswer({ ext: [100, 64, 3, 4] })],
  ];
  for (const [reason, data] of cases) t.same(decodePcpMap(data, req), { ok: false, reason }, reason);
  const refused = decodePcpMap(pcpAnswer({ result: 2, port: 0, lifetime: 0 }), req);
  t.ok(refused.ok && 'result' in refused.value && refused.value.result === 2, 'a failure result is a valid answer, for the caller to report');
  t.same(decodePcpMap(Uint8Array.of(0, 0x81, 0, 1), req), { ok: true, value: { versionRefused: true } }, "NAT-PMP server's version refusal");
  t.ok(decodePcpAnnounce(Buffer.from([2, 0x80, 0, 0, ...new Uint8Array(20)])).ok);
});

t.test('NAT-PMP answers', async (t) => {
  const map = { internalPort: 51820, suggestedExternalPort: 51820, lifetimeS: 120 };
  t.equal(encodeNatpmpMap(map).length, 12);
  const answer = (op: number, port: number, ext: number, life: number): Buffer => {
    const b = Buffer.alloc(16);
    b[1] = op;
    b.writeUInt16BE(port, 8);
    b.writeUInt16BE(ext, 10);
    b.writeUInt32BE(life, 12);
    return b;
  };
  const ok = decodeNatpmpMap(answer(129, 51820, 40000, 120), map);
  t.ok(ok.ok && ok.value.externalPort === 40000 && ok.value.lifetimeS === 120);
  t.same(decodeNatpmpMap(answer(130, 51820, 40000, 120), map), { ok: false, reason: 'bad-opcode' });
  t.same(decodeNatpmpMap(answer(1, 51820, 40000, 120), map), { ok: false, reason: 'not-response' });
  t.same(decodeNatpmpMap(answer(129, 1, 40000, 120), map), { ok: false, reason: 'port-mismatch' });
  t.same(decodeNatpmpMap(answer(129, 51820, 0, 120), map), { ok: false, reason: 'bad-port' });
  t.same(decodeNatpmpMap(answer(129, 51820, 40000, 0), map), { ok: false, reason: 'zero-lifetime' });
  t.same(decodeNatpmpMap(answer(129, 51820, 40000, 120).subarray(0, 12), map), { ok: false, reason: 'short' });
  t.same(decodeNatpmpMap(new Uint8Array(2000), map), { ok: false, reason: 'oversized' });
  const ext = Buffer.alloc(12);
  ext[1] = 128;
  ext.set([203, 0, 113, 9], 8);
  t.ok(decodeNatpmpExternalAddress(ext).ok);
  ext.set([10, 1, 2, 3], 8);
  t.same(decodeNatpmpExternalAddress(ext), { ok: false, reason: 'private-external' });
});

t.test('SSDP answers: only a LOCATION on the gateway', async (t) => {
  const answer = (loc: string): Uint8Array => new TextEncoder().encode(`HTTP/1.1 200 OK\r\nST: x\r\nLOCATION: ${loc}\r\n\r\n`);
  t.ok(decodeSsdpAnswer(answer(`http://${GW}:5000/rootDesc.xml`), GW).ok);
  for (const loc of [`http://192.168.1.10:5000/d.xml`, `https://${GW}/d.xml`, `http://u:p@${GW}/d.xml`, `http://${GW}.evil.example/`, `http://${GW}:99999/`, 'not a url']) {
    t.same(decodeSsdpAnswer(answer(loc), GW), { ok: false, reason: 'bad-location' }, loc);
  }
  t.same(decodeSsdpAnswer(new Uint8Array(SSDP_MAX_SIZE + 1), GW), { ok: false, reason: 'oversized' });
  t.same(decodeSsdpAnswer(new TextEncoder().encode('HTTP/1.1 404 No\r\n\r\n'), GW), { ok: false, reason: 'bad-http' });
  t.same(decodeSsdpAnswer(Uint8Array.of(0xff, 0xfe), GW), { ok: false, reason: 'bad-http' });
  const twice = `HTTP/1.1 200 OK\r\nLOCATION: http://${GW}/a\r\nLOCATION: http://${GW}/b\r\n\r\n`;
  t.same(decodeSsdpAnswer(new TextEncoder().encode(twice), GW), { ok: false, reason: 'bad-http' }, 'two LOCATIONs');
});

t.test('UPnP description and SOAP', async (t) => {
  const loc = `http://${GW}:5000/rootDesc.xml`;
  const svc = (type: string, url: string): string => `<service><serviceType>${type}</serviceType><controlURL>${url}</controlURL></service>`;
  const doc = `<?xml version="1.0"?><root>${svc('urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1', '/ctl/CmnIfCfg')}${svc('urn:schemas-upnp-org:service:WANIPConnection:2', '/ctl/IPConn')}</root>`;
  t.same(parseDeviceDescription(doc, loc, GW), { ok: true, value: { serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:2', controlUrl: `http://${GW}:5000/ctl/IPConn` } });
  t.same(parseDeviceDescription(doc.replace('/ctl/IPConn', 'http://10.0.0.9/ctl'), loc, GW), { ok: false, reason: 'bad-location' });
  t.same(parseDeviceDescription('<root></root>', loc, GW), { ok: false, reason: 'bad-document' });
  t.same(parseDeviceDescription('x'.repeat(UPNP_MAX_DOCUMENT + 1), loc, GW), { ok: false, reason: 'oversized' });
  t.same(parseDeviceDescription(doc.replace('/ctl/IPConn', '&xxe;'), loc, GW), { ok: false, reason: 'bad-document' }, 'unknown entities refused');
  const r = parseSoapResponse(200, '<s:Envelope><s:Body><u:GetExternalIPAddressResponse xmlns:u="x"><NewExternalIPAddress>203.0.113.5</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>', 'GetExternalIPAddress', ['NewExternalIPAddress']);
  t.ok(r.ok && 'values' in r.value && r.value.values.get('NewExternalIPAddress') === '203.0.113.5');
  t.same(parseSoapResponse(200, '<u:AddPortMappingResponse xmlns:u="x"/>', 'AddPortMapping', []), { ok: true, value: { values: new Map() } }, 'self-closing answer');
  t.same(parseSoapResponse(500, '<UPnPError><errorCode>718</errorCode></UPnPError>', 'AddPortMapping', []), { ok: true, value: { fault: 718 } });
  t.same(parseSoapResponse(500, '<errorCode>lots</errorCode>', 'AddPortMapping', []), { ok: false, reason: 'bad-document' });
  t.same(parseSoapResponse(302, '', 'AddPortMapping', []), { ok: false, reason: 'bad-http' });
});

t.test('random and mutated inputs: never a throw, never a mapping from noise', async (t) => {
  const r = rng(0x5eed);
  const valid = pcpAnswer({ nonce: req.nonce });
  const natReq = { internalPort: 51820, suggestedExternalPort: 51820, lifetimeS: 120 };
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    const noise = randomBytes(r, Math.floor(r() * (i % 10 === 0 ? 3000 : 80)));
    const pcp = decodePcpMap(noise, req);
    if (pcp.ok && 'externalPort' in pcp.value && pcp.value.result === 0) accepted++;
    decodePcpAnnounce(noise);
    decodeNatpmpMap(noise, natReq);
    decodeNatpmpExternalAddress(noise);
    decodeSsdpAnswer(noise, GW);
    const text = new TextDecoder().decode(noise);
    parseDeviceDescription(text, `http://${GW}/d.xml`, GW);
    parseSoapResponse(200, text, 'AddPortMapping', ['X']);
    // Flip one byte of a valid answer: the decoder still answers, and a flipped nonce is caught.
    const m = Buffer.from(valid);
    const at = Math.floor(r() * m.length);
    m[at] = m[at]! ^ (1 + Math.floor(r() * 255));
    const d = decodePcpMap(m, req);
    if (at >= 24 && at < 36) t.equal(d.ok, false, `a flipped nonce byte ${at} is refused`);
  }
  t.equal(accepted, 0, 'no random datagram became a mapping');
});

t.test('default gateway from /proc/net/route, and the public-address test', async (t) => {
  const text = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0',
    'wlan0\t00000000\t0101A8C0\t0003\t0\t0\t50\t00000000\t0\t0\t0',
    'eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'garbage line',
  ].join('\n');
  t.same(parseProcNetRoute(text), { address: '192.168.1.1', iface: 'wlan0' }, 'lowest metric wins');
  t.equal(parseProcNetRoute('Iface\n'), undefined);
  t.equal(parseProcNetRoute('Iface\nx\tzz\tyy\t3\t0\t0\t0\t00000000'), undefined);
  for (const a of ['0.0.0.0', '10.1.2.3', '172.16.0.1', '192.168.9.9', '100.64.0.1', '127.0.0.1', '169.254.1.1', '224.0.0.1', '255.255.255.255', '1.2.3', '01.2.3.4', '256.1.1.1']) {
    t.notOk(isPublicIPv4(a), a);
  }
  for (const a of ['203.0.113.5', '100.128.0.10', '8.8.8.8']) t.ok(isPublicIPv4(a), a);
});
