// A poll error on the server's UDP relay socket (forced through the addon's test hook): the relay
// logs it, takes the same port again, and two bound members keep exchanging packets through it,
// instead of the relay going deaf with every relayed pair.
import t from 'tap';
import { TEST_HOOKS_ENV } from '../../agent/daemon/batch-udp-socket.js';
import { RELAY_DATA, type RelayPacket } from '../../shared/wire/relay.js';
import { createLogger } from '../../shared/log.js';
import { Metrics } from '../metrics.js';
import { ServerRelay, type RelayMember } from '../relay.js';
import { UdpPeer, wgTransport } from './relay-helpers.js';

// Read by the addon when it loads, at the first bind below: gives the socket injectPollError.
process.env[TEST_HOOKS_ENV] = '1';
const EIO = 5;

t.test('the relay socket reopens on its port after a poll error', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ format: 'json', write: (l) => lines.push(l) });
  const room = new Set(['r']);
  const members = new Map<string, RelayMember>(
    ['a', 'b'].map((id) => [id, { id, rooms: room, deliverRelay: () => 'closed' as const, relayBound: () => undefined }]),
  );
  const relay = new ServerRelay({
    member: (id) => members.get(id),
    wsRelay: false,
    limits: { relayBytesPerSecond: 1e9, relayBurstBytes: 1e9, addressRelayBytesPerSecond: 1e9, addressRelayBurstBytes: 1e9, maxConnections: 16 },
    metrics: new Metrics({ connectedAgents: () => 2, rooms: () => 1, members: () => 2 }),
    log,
  });
  const bound = await relay.listen('127.0.0.1', 0);
  const a = await UdpPeer.open(bound.port);
  const b = await UdpPeer.open(bound.port);
  t.teardown(async () => {
    a.close();
    b.close();
    await relay.close();
  });
  t.ok(await a.bind('a', relay.tokenFor('a')), 'a bound');
  t.ok(await b.bind('b', relay.tokenFor('b')), 'b bound');
  const from = (id: string, payload: Buffer) => (p: RelayPacket) => p.type === RELAY_DATA && p.id === id && p.payload.equals(payload);
  const before = wgTransport();
  a.sendData('b', before);
  await b.next(from('a', before));

  relay.injectPollError(EIO);
  // Until the new socket is bound, datagrams may be lost: keep sending until one gets through.
  const after = wgTransport();
  const arrived = b.next(from('a', after), 5000);
  const resend = setInterval(() => a.sendData('b', after), 50);
  try {
    await arrived;
  } finally {
    clearInterval(resend);
  }
  t.pass('a packet crossed the relay after the poll error, on the same port, with the old bindings');
  t.equal(relay.udp?.port, bound.port, 'the relay kept its port');
  t.ok(lines.some((l) => l.includes('relay socket stopped receiving; reopening it on the same port')), 'the failure is logged');
  t.ok(lines.some((l) => l.includes('relay socket reopened')), 'and the recovery');
});
