// The one STUN client: retransmission on its timers, and answers taken only from the server
// asked (any port of it after CHANGE-REQUEST) and only for a transaction of ours.
import t from 'tap';
import { makeEndpoint, type Endpoint } from '../../shared/net/address.js';
import { StunClient } from '../../shared/stun/client.js';
import { encodeXorAddress } from '../../shared/stun/attributes.js';
import { ATTR_XOR_MAPPED_ADDRESS, BINDING_SUCCESS } from '../../shared/stun/constants.js';
import { decodeStunMessage, encodeStunMessage } from '../../shared/stun/message.js';
import { ManualClock } from './fixtures/join-net.js';

const SERVER = makeEndpoint('198.51.100.1', 3478);

function answer(request: Buffer, mapped = makeEndpoint('203.0.113.5', 40000)): Buffer {
  const req = decodeStunMessage(request)!;
  return encodeStunMessage({ type: BINDING_SUCCESS, transactionId: req.transactionId, attributes: [{ type: ATTR_XOR_MAPPED_ADDRESS, value: encodeXorAddress({ family: 'IPv4', address: mapped.address, port: mapped.port }, req.transactionId) }] }, { fingerprint: true });
}

function setup() {
  const clock = new ManualClock();
  const sent: { data: Buffer; to: Endpoint }[] = [];
  const client = new StunClient((data, to) => sent.push({ data, to }), clock);
  return { clock, sent, client };
}

t.test('retransmits with a doubling timeout, then gives up', async (t) => {
  const { clock, sent, client } = setup();
  const q = client.query(SERVER, { rtoMs: 100, attempts: 3 });
  t.equal(sent.length, 1);
  clock.advance(99);
  t.equal(sent.length, 1);
  clock.advance(1);
  t.equal(sent.length, 2);
  clock.advance(200);
  t.equal(sent.length, 3);
  clock.advance(400);
  t.equal(await q, undefined);
  t.ok(sent.every((s) => s.data.equals(sent[0]!.data)), 'one transaction id throughout');
});

t.test('only the server asked may answer, and only our transaction', async (t) => {
  const { sent, client } = setup();
  const q = client.query(SERVER);
  const good = answer(sent[0]!.data);
  t.notOk(client.handle(good, makeEndpoint('198.51.100.66', 3478)), 'another address');
  t.notOk(client.handle(good, makeEndpoint('198.51.100.1', 3479)), 'another port without CHANGE-REQUEST');
  const other = client.query(SERVER);
  const forged = Buffer.from(answer(sent[1]!.data));
  sent[0]!.data.subarray(8, 20).copy(forged, 8); // our first id, over another transaction's body
  t.notOk(client.handle(forged, SERVER), 'a transaction id that does not match its body (FINGERPRINT)');
  t.notOk(client.handle(Buffer.alloc(10), SERVER), 'short junk');
  t.ok(client.handle(good, SERVER));
  const a = await q;
  t.equal(a?.response.kind, 'success');
  t.equal(a?.response.kind === 'success' && a.response.mapped.port, 40000);
  t.notOk(client.handle(good, SERVER), 'answered once');
  client.close();
  t.equal(await other, undefined, 'close ends what is pending');
});

t.test('after CHANGE-REQUEST the answer may come from another port of the server', async (t) => {
  const { sent, client } = setup();
  const q = client.query(SERVER, { changePort: true });
  t.ok(client.handle(answer(sent[0]!.data), makeEndpoint('198.51.100.1', 3479)));
  t.equal((await q)?.from.port, 3479);
});
