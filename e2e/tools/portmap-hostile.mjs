#!/usr/bin/env node
// A hostile device on a site's LAN, against the port mapper (plain JS, runs with `node` in a
// namespace). It answers every SSDP search with garbage, an oversized answer and a well-formed
// one whose LOCATION is on itself, and it sprays the client's request port with bad PCP and
// NAT-PMP answers, both from its own address and from the gateway's (which the test has added
// to this namespace, to impersonate the gateway).
//   portmap-hostile.mjs CLIENT_IP CLIENT_PORT GATEWAY_IP OWN_IP
// Prints {"event":"ready"}, then {"event":"ssdp","from":..} per search answered.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

const [clientIp, clientPortText, gatewayIp, ownIp] = process.argv.slice(2);
const clientPort = Number(clientPortText);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const PMP_PORT = 5351;
const SSDP_PORT = 1900;

const bind = (address, port) =>
  new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    s.on('error', reject);
    s.bind(port, address, () => resolve(s));
  });

// PCP MAP success answer (version 2, R|1) with a nonce nobody asked for.
function pcpMap({ nonce = randomBytes(12), external = [100, 128, 0, 66], port = clientPort } = {}) {
  const b = Buffer.alloc(60);
  b[0] = 2; b[1] = 0x81; b.writeUInt32BE(120, 4); b.writeUInt32BE(1000, 8);
  nonce.copy(b, 24); b[36] = 17; b.writeUInt16BE(port, 40); b.writeUInt16BE(40000, 42);
  b[54] = 0xff; b[55] = 0xff; Buffer.from(external).copy(b, 56);
  return b;
}
// NAT-PMP answers: wrong opcode, a private "external" address, a port we did not ask for.
function natpmp(op, body) {
  const b = Buffer.alloc(op === 128 ? 12 : 16);
  b[1] = op; b.writeUInt32BE(1000, 4); body(b);
  return b;
}
const pmpAnswers = [
  randomBytes(37),
  randomBytes(3000),
  Buffer.from([2, 0x81, 0, 0, 0, 0]), // truncated PCP
  pcpMap(),
  pcpMap({ external: [10, 0, 0, 1] }),
  Buffer.from([2, 0x01, 0, 0, ...Buffer.alloc(56)]), // a request, not a response
  natpmp(130, (b) => b.writeUInt16BE(clientPort, 8)), // TCP map answer
  natpmp(128, (b) => Buffer.from([192, 168, 1, 1]).copy(b, 8)),
  natpmp(129, (b) => { b.writeUInt16BE(1, 8); b.writeUInt16BE(40001, 10); b.writeUInt32BE(120, 12); }),
  natpmp(129, (b) => { b.writeUInt16BE(clientPort === 0 ? 1 : 0, 8); }),
];

const ssdpAnswer = (location) =>
  Buffer.from(`HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nUSN: uuid:evil::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: ${location}\r\n\r\n`);

const own = await bind(ownIp, 0);
const spoofPmp = await bind(gatewayIp, PMP_PORT);
const spoofSsdp = await bind(gatewayIp, SSDP_PORT);
const ssdp = await bind('0.0.0.0', SSDP_PORT);
ssdp.addMembership('239.255.255.250');
ssdp.on('message', (msg, rinfo) => {
  if (!msg.toString('latin1').startsWith('M-SEARCH')) return;
  out({ event: 'ssdp', from: `${rinfo.address}:${rinfo.port}` });
  const evil = `http://${ownIp}:8080/rootDesc.xml`;
  for (const s of [own, spoofSsdp]) {
    s.send(randomBytes(100), rinfo.port, rinfo.address);
    s.send(Buffer.alloc(5000, 0x41), rinfo.port, rinfo.address);
    s.send(ssdpAnswer(evil), rinfo.port, rinfo.address);
  }
  // From the gateway's address, a location on the gateway but with credentials, and one on https.
  spoofSsdp.send(ssdpAnswer(`http://user:pw@${gatewayIp}:80/x.xml`), rinfo.port, rinfo.address);
  spoofSsdp.send(ssdpAnswer(`https://${gatewayIp}/x.xml`), rinfo.port, rinfo.address);
});
const spray = () => {
  for (const d of pmpAnswers) {
    own.send(d, clientPort, clientIp);
    spoofPmp.send(d, clientPort, clientIp);
  }
};
setInterval(spray, 50);
out({ event: 'ready' });
