// The server's STUN responder over real UDP sockets on loopback: Binding answers, RFC 5780
// behaviour discovery with an alternate port, error responses, and junk that must be ignored.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import {
  ATTR_FINGERPRINT,
  ATTR_MAPPED_ADDRESS,
  ATTR_OTHER_ADDRESS,
  ATTR_RESPONSE_ORIGIN,
  ATTR_RESPONSE_PORT,
  ATTR_SOFTWARE,
  ATTR_XOR_MAPPED_ADDRESS,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  decodeAddress,
  decodeStunMessage,
  decodeText,
  discoverNatBehaviour,
  encodeStunMessage,
  getAttribute,
  parseBindingResponse,
  stunBindingRequest,
  type StunAttribute,
} from '../../shared/stun/index.js';
import { startTestServer, sleep } from './helpers.js';

interface Reply {
  bytes: Buffer;
  fromPort: number;
}

/** A client socket that records every datagram it receives. */
async function udpClient(t: Test): Promise<{ socket: dgram.Socket; port: number; replies: Reply[] }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => socket.close());
  const replies: Reply[] = [];
  socket.on('message', (bytes, rinfo) => replies.push({ bytes, fromPort: rinfo.port }));
  return { socket, port: socket.address().port, replies };
}

/** Sends `packet` and waits for the reply to its transaction (or gives up after `ms`). */
async function exchange(client: Awaited<ReturnType<typeof udpClient>>, port: number, packet: Buffer, ms = 5000): Promise<Reply | undefined> {
  const txid = packet.subarray(8, 20);
  const seen = client.replies.length;
  client.socket.send(packet, port, '127.0.0.1');
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const hit = client.replies.slice(seen).find((r) => r.bytes.subarray(8, 20).equals(txid));
    if (hit) return hit;
    await sleep(5);
  }
  return undefined;
}

function request(attributes: StunAttribute[], fingerprint = true): Buffer {
  return encodeStunMessage({ type: BINDING_REQUEST, transactionId: randomBytes(12), attributes }, { fingerprint });
}

t.test('Binding with an alternate port: RFC 5780 attributes and CHANGE-REQUEST', async (t) => {
  const server = await startTestServer({ stunPort: 0, stunAltPort: 0 });
  t.teardown(() => server.close());
  const primary = server.stun!.port;
  const alternate = server.stunAlt!.port;
  t.not(primary, alternate);
  const client = await udpClient(t);
  const self = { family: 'IPv4', address: '127.0.0.1', port: client.port };

  const plain = await exchange(client, primary, stunBindingRequest({ discovery: true }).packet);
  if (!plain) throw new Error('no answer on the primary port');
  const msg = decodeStunMessage(plain.bytes)!;
  t.equal(msg.type, BINDING_SUCCESS);
  t.equal(msg.fingerprint, 'valid', 'FINGERPRINT present and right');
  t.equal(msg.attributes.at(-1)?.type, ATTR_FINGERPRINT, 'FINGERPRINT is last');
  t.same(decodeAddress(getAttribute(msg, ATTR_MAPPED_ADDRESS)!), self, 'MAPPED-ADDRESS for old clients');
  const parsed = parseBindingResponse(plain.bytes, msg.transactionId);
  if (parsed?.kind !== 'success') throw new Error('not a success');
  t.same(parsed.mapped, self, 'XOR-MAPPED-ADDRESS is our socket');
  t.ok(getAttribute(msg, ATTR_XOR_MAPPED_ADDRESS));
  t.same(parsed.responseOrigin, { ...self, port: primary }, 'RESPONSE-ORIGIN: the primary port');
  t.same(parsed.otherAddress, { ...self, port: alternate }, 'OTHER-ADDRESS: the alternate port');
  t.equal(decodeText(getAttribute(msg, ATTR_SOFTWARE)!), 'wgp2p');
  t.equal(plain.fromPort, primary);

  const changed = await exchange(client, primary, stunBindingRequest({ changePort: true, discovery: true }).packet);
  const changedMsg = changed && parseBindingResponse(changed.bytes);
  t.equal(changed?.fromPort, alternate, 'change-port request answered from the alternate port');
  t.same(changedMsg?.kind === 'success' && changedMsg.responseOrigin, { ...self, port: alternate }, 'and RESPONSE-ORIGIN says so');
  t.same(changedMsg?.kind === 'success' && changedMsg.mapped, self);

  const viaAlt = await exchange(client, alternate, stunBindingRequest({ discovery: true }).packet);
  const viaAltMsg = viaAlt && parseBindingResponse(viaAlt.bytes);
  t.equal(viaAlt?.fromPort, alternate);
  t.same(viaAltMsg?.kind === 'success' && viaAltMsg.otherAddress, { ...self, port: primary }, 'OTHER-ADDRESS from the alternate is the primary');
  const backAgain = await exchange(client, alternate, stunBindingRequest({ changePort: true }).packet);
  t.equal(backAgain?.fromPort, primary, 'change-port on the alternate answers from the primary');

  const oldClient = await exchange(client, primary, request([], false));
  t.equal(oldClient && parseBindingResponse(oldClient.bytes)?.kind, 'success', 'a request without FINGERPRINT is answered too');

  const behaviour = await discoverNatBehaviour(client.socket, { host: '127.0.0.1', port: primary }, { rtoMs: 200 });
  t.same(behaviour, {
    mapped: self,
    mappedAlt: self,
    mapping: 'endpoint-independent',
    filtering: 'port-independent',
  }, 'no NAT on loopback: endpoint-independent mapping, no filtering');
  t.equal(server.metrics().stunRequests.binding_changed_port, 3);
});

t.test('requests the server cannot honour get the RFC error responses', async (t) => {
  const server = await startTestServer({ stunPort: 0, stunAltPort: 0 });
  t.teardown(() => server.close());
  const client = await udpClient(t);
  const port = server.stun!.port;

  const changeIp = await exchange(client, port, stunBindingRequest({ changeIp: true, discovery: true }).packet);
  t.same(changeIp && parseBindingResponse(changeIp.bytes), {
    kind: 'error',
    transactionId: Uint8Array.from(changeIp!.bytes.subarray(8, 20)),
    code: 420,
    reason: 'Unknown Attribute',
    unknownAttributes: [0x0003],
  }, 'change-IP on a one-address server: 420 naming CHANGE-REQUEST');
  t.equal(decodeStunMessage(changeIp!.bytes)?.fingerprint, 'valid');
  const small = await exchange(client, port, stunBindingRequest({ changeIp: true }).packet);
  const sp = small && parseBindingResponse(small.bytes);
  t.same(sp?.kind === 'error' && [sp.code, sp.reason], [420, ''], 'an unpadded request gets the code without the words');

  const responsePort = await exchange(client, port, request([{ type: ATTR_RESPONSE_PORT, value: Buffer.from([0, 80, 0, 0]) }]));
  const rp = responsePort && parseBindingResponse(responsePort.bytes);
  t.same(rp?.kind === 'error' && [rp.code, rp.unknownAttributes], [420, [ATTR_RESPONSE_PORT]], 'unknown comprehension-required attribute: 420');

  const optional = await exchange(client, port, request([{ type: 0x8055, value: Buffer.from('ignore me') }]));
  t.equal(optional && parseBindingResponse(optional.bytes)?.kind, 'success', 'unknown comprehension-optional attribute is ignored');

  const badChange = await exchange(client, port, request([{ type: 0x0003, value: Buffer.from([0, 0, 2]) }]));
  const bc = badChange && parseBindingResponse(badChange.bytes);
  t.same(bc?.kind === 'error' && bc.code, 400, 'malformed CHANGE-REQUEST: 400');
});

t.test('without an alternate port: no OTHER-ADDRESS, change-port refused', async (t) => {
  const server = await startTestServer({ stunPort: 0 });
  t.teardown(() => server.close());
  t.equal(server.stunAlt, undefined);
  const client = await udpClient(t);
  const r = await exchange(client, server.stun!.port, stunBindingRequest({ discovery: true }).packet);
  const msg = decodeStunMessage(r!.bytes)!;
  t.equal(getAttribute(msg, ATTR_OTHER_ADDRESS), undefined, 'no OTHER-ADDRESS');
  t.ok(getAttribute(msg, ATTR_RESPONSE_ORIGIN), 'RESPONSE-ORIGIN still tells where the answer came from');
  const change = await exchange(client, server.stun!.port, stunBindingRequest({ changePort: true }).packet);
  const parsed = change && parseBindingResponse(change.bytes);
  t.same(parsed?.kind === 'error' && parsed.code, 420);
  const behaviour = await discoverNatBehaviour(client.socket, { host: '127.0.0.1', port: server.stun!.port }, { rtoMs: 100 });
  t.same([behaviour.mapping, behaviour.filtering], ['unknown', 'unknown'], 'discovery says it cannot tell');
});

t.test('a wildcard STUN socket does not guess its public address', async (t) => {
  const server = await startTestServer({ stunPort: 0, stunAltPort: 0, stunHost: '0.0.0.0' });
  t.teardown(() => server.close());
  const client = await udpClient(t);
  const r = await exchange(client, server.stun!.port, stunBindingRequest({ discovery: true }).packet);
  const parsed = r && parseBindingResponse(r.bytes);
  if (parsed?.kind !== 'success') throw new Error('no success');
  t.equal(parsed.otherAddress, undefined, 'OTHER-ADDRESS left out rather than wrong');
  t.equal(parsed.responseOrigin, undefined);
  t.same(parsed.mapped, { family: 'IPv4', address: '127.0.0.1', port: client.port });

  const advertised = await startTestServer({ stunPort: 0, stunAltPort: 0, stunHost: '0.0.0.0', stunPublicIp: '203.0.113.7' });
  t.teardown(() => advertised.close());
  const r2 = await exchange(client, advertised.stun!.port, stunBindingRequest({ discovery: true }).packet);
  const p2 = r2 && parseBindingResponse(r2.bytes);
  t.same(p2?.kind === 'success' && p2.otherAddress, { family: 'IPv4', address: '203.0.113.7', port: advertised.stunAlt!.port }, '--stun-public-ip is advertised');
});

t.test('junk is ignored, counted, and never stops the responder', async (t) => {
  // A budget the junk cannot exhaust: this test is about decoding, not the limiter.
  const server = await startTestServer({ stunPort: 0, stunAltPort: 0, stunRatePerIp: 10_000, stunBurstPerIp: 10_000 });
  t.teardown(() => server.close());
  const client = await udpClient(t);
  const port = server.stun!.port;
  const valid = stunBindingRequest().packet;
  const badFingerprint = Buffer.from(valid);
  badFingerprint[badFingerprint.length - 1]! ^= 0xff;
  const success = encodeStunMessage({ type: BINDING_SUCCESS, transactionId: randomBytes(12), attributes: [] });
  const wireguard = Buffer.alloc(148);
  wireguard[0] = 1;
  const truncated = valid.subarray(0, valid.length - 4);
  const lying = Buffer.from(valid);
  lying.writeUInt16BE(valid.length - 20 + 4, 2); // length field longer than the datagram
  const junk: Buffer[] = [Buffer.alloc(0), Buffer.from('hello'), wireguard, randomBytes(1200), badFingerprint, success, truncated, lying];
  for (let i = 0; i < 100; i++) {
    junk.push(randomBytes(1 + i * 7)); // random sizes, almost never shaped like STUN
    const mutated = Buffer.from(valid);
    mutated[24 + (i % 4)]! ^= 1 + (i % 255); // inside the FINGERPRINT value
    junk.push(mutated);
  }
  const before = client.replies.length;
  // In small batches: a burst of hundreds would overflow the socket's receive buffer.
  for (let i = 0; i < junk.length; i++) {
    client.socket.send(junk[i]!, port, '127.0.0.1');
    if (i % 10 === 9) await sleep(5);
  }
  const answer = await exchange(client, port, stunBindingRequest().packet);
  t.equal(answer && parseBindingResponse(answer.bytes)?.kind, 'success', 'a real request is still answered');
  await sleep(50);
  const unexpected = client.replies.slice(before).filter((r) => r !== answer);
  t.same(unexpected.map((r) => r.bytes.length), [], 'no reply to any of the junk');
  const counts = server.metrics().stunRequests;
  t.ok((counts.not_stun ?? 0) >= 6, `not_stun counted (${counts.not_stun})`);
  t.equal(counts.bad_fingerprint, 101, 'every bad fingerprint counted');
  t.equal(counts.ignored, 1, 'a success response sent to the server is ignored');
  t.equal(counts.internal_error, undefined, 'no handler error');
});

t.test('per-address STUN rate limit', async (t) => {
  const server = await startTestServer({ stunPort: 0, stunRatePerIp: 5, stunBurstPerIp: 10 });
  t.teardown(() => server.close());
  const client = await udpClient(t);
  const before = client.replies.length;
  for (let i = 0; i < 50; i++) client.socket.send(stunBindingRequest().packet, server.stun!.port, '127.0.0.1');
  await sleep(300);
  const answered = client.replies.length - before;
  // 10 of burst, plus at most a few refilled at 5/s while the 50 went out.
  t.ok(answered >= 10 && answered <= 14, `${answered} of 50 answered`);
  t.ok((server.metrics().stunRequests.rate_limited ?? 0) >= 36, 'the rest counted as rate limited');
});

t.test('answers are never much bigger than their requests; RFC 5780 attributes only for discovery', async (t) => {
  const server = await startTestServer({ stunPort: 0, stunAltPort: 0 });
  t.teardown(() => server.close());
  const client = await udpClient(t);
  const port = server.stun!.port;
  // The least a useful answer holds: ERROR-CODE, one UNKNOWN-ATTRIBUTES and FINGERPRINT
  // (a success over IPv4, XOR-MAPPED-ADDRESS and FINGERPRINT, is 4 bytes less).
  const smallest = 20 + 8 + 8 + 8;
  const requests: [string, Buffer][] = [
    ['bare, no FINGERPRINT', request([], false)],
    ['plain', stunBindingRequest().packet],
    ['with SOFTWARE', stunBindingRequest({ software: 'x' }).packet],
    ['change port', stunBindingRequest({ changePort: true }).packet],
    ['unknown required attribute', request([{ type: ATTR_RESPONSE_PORT, value: Buffer.from([0, 80, 0, 0]) }])],
  ];
  for (const [what, packet] of requests) {
    const answer = await exchange(client, port, packet);
    if (!answer) throw new Error(`no answer to ${what}`);
    t.ok(answer.bytes.length <= Math.max(packet.length, smallest), `${what}: ${answer.bytes.length} bytes for ${packet.length}`);
    t.ok(parseBindingResponse(answer.bytes), `${what}: still a valid answer`);
  }
  const plain = await exchange(client, port, stunBindingRequest().packet);
  const p = plain && parseBindingResponse(plain.bytes);
  t.same(p?.kind === 'success' && [p.otherAddress, p.responseOrigin], [undefined, undefined], 'no OTHER-ADDRESS or RESPONSE-ORIGIN unasked');
  const discovery = stunBindingRequest({ discovery: true }).packet;
  const d = await exchange(client, port, discovery);
  const dp = d && parseBindingResponse(d.bytes);
  t.ok(dp?.kind === 'success' && dp.otherAddress && dp.responseOrigin, 'a discovery request gets both');
  t.ok(d!.bytes.length <= discovery.length, 'and its answer is no bigger than it');
});

t.test('oversized requests are refused before decoding, and counted', async (t) => {
  const server = await startTestServer({ stunPort: 0 });
  t.teardown(() => server.close());
  const client = await udpClient(t);
  // 16k zero-length comprehension-optional attributes: valid STUN, costly to decode.
  const big = request(Array.from({ length: 150 }, () => ({ type: 0x8055, value: Buffer.alloc(0) })));
  t.ok(big.length > 548);
  t.equal(await exchange(client, server.stun!.port, big, 300), undefined, 'no answer');
  t.equal(server.metrics().stunRequests.too_large, 1, 'counted as too_large');
  const ok = await exchange(client, server.stun!.port, stunBindingRequest().packet);
  t.ok(ok, 'a normal request from the same source is still answered');
});

t.test('the source budget is spent before any decoding', async (t) => {
  const server = await startTestServer({ stunPort: 0, stunRatePerIp: 1, stunBurstPerIp: 5 });
  t.teardown(() => server.close());
  const client = await udpClient(t);
  const bad = Buffer.from(stunBindingRequest().packet);
  bad[bad.length - 1]! ^= 0xff;
  for (let i = 0; i < 30; i++) client.socket.send(bad, server.stun!.port, '127.0.0.1');
  await sleep(200);
  const counts = server.metrics().stunRequests;
  t.ok((counts.bad_fingerprint ?? 0) <= 6, `only the budget is decoded (${counts.bad_fingerprint})`);
  t.ok((counts.rate_limited ?? 0) >= 24, `the rest refused unread (${counts.rate_limited})`);
});
