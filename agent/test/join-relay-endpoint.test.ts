// Virtual endpoints of relayed paths: every (link, member) slot pair maps to its own endpoint in
// 100::/64 and back; real endpoints (and 100:: addresses that are not ours) are never taken for one.
import t from 'tap';
import { formatEndpoint, makeEndpoint, parseEndpoint } from '../../shared/net/address.js';
import { isRelayEndpoint, parseRelayEndpoint, relayEndpoint, RELAY_ENDPOINT_TEXT } from '../join/paths/relay/relay-endpoint.js';
import { isSocketEndpoint, socketEndpoint } from '../join/paths/direct/extra-sockets.js';

const SAMPLES = [1, 2, 9, 0xa, 0xf, 0x10, 0xff, 0x100, 0xfff, 0x1000, 0x1001, 0x7fff, 0x8000, 0xabcd, 0xfffe, 0xffff];

t.test('relayEndpoint and parseRelayEndpoint round trip over the whole slot range', async (t) => {
  const seen = new Set<string>();
  let checked = 0;
  for (const linkSlot of SAMPLES) {
    for (const memberSlot of SAMPLES) {
      const e = relayEndpoint(linkSlot, memberSlot);
      const text = formatEndpoint(e);
      if (!isRelayEndpoint(e)) t.fail(`${text} is not recognised as relayed`);
      const back = parseRelayEndpoint(e);
      if (back?.linkSlot !== linkSlot || back.memberSlot !== memberSlot) t.fail(`${linkSlot}/${memberSlot} came back as ${JSON.stringify(back)} from ${text}`);
      // Through text and back, as the engine's status and `wg` would carry it.
      const reparsed = parseRelayEndpoint(parseEndpoint(text));
      if (reparsed?.linkSlot !== linkSlot || reparsed.memberSlot !== memberSlot) t.fail(`${text} reparsed as ${JSON.stringify(reparsed)}`);
      seen.add(text);
      checked++;
    }
  }
  t.equal(checked, SAMPLES.length ** 2);
  t.equal(seen.size, SAMPLES.length ** 2, 'every slot pair has an endpoint of its own');
});

t.test('a spread of slots across 1..65535 round trips', async (t) => {
  let bad = 0;
  for (let s = 1; s <= 0xffff; s += 97) {
    const e = relayEndpoint(s, 0x10000 - s);
    const back = parseRelayEndpoint(e);
    if (back?.linkSlot !== s || back.memberSlot !== 0x10000 - s) bad++;
  }
  t.equal(bad, 0);
});

t.test('the formatted endpoint is canonical and starts with RELAY_ENDPOINT_TEXT', async (t) => {
  t.equal(RELAY_ENDPOINT_TEXT, '[100::');
  t.equal(formatEndpoint(relayEndpoint(1, 2)), '[100::1:2]:1');
  t.equal(formatEndpoint(relayEndpoint(0x1000, 0xffff)), '[100::1000:ffff]:1');
  t.equal(formatEndpoint(relayEndpoint(0xffff, 0x1000)), '[100::ffff:1000]:1');
  for (const l of SAMPLES) for (const m of SAMPLES) if (!formatEndpoint(relayEndpoint(l, m)).startsWith(RELAY_ENDPOINT_TEXT)) t.fail(`${l}/${m}`);
  const e = relayEndpoint(0xabcd, 7);
  t.same(e, makeEndpoint('100:0:0:0:0:0:abcd:7', 1), 'same as the canonicalised long form');
  t.equal(e.family, 6);
  t.equal(e.port, 1);
});

t.test('real endpoints are not relayed paths', async (t) => {
  for (const text of ['1.2.3.4:51820', '100.64.0.1:1', '100.0.0.1:1', '10.0.0.1:1', '[2001:db8::1]:51820', '[::1]:1', '[1000::1:2]:1', '[fe80::1]:1', '[10::1:2]:1', '[::ffff:100.1.1.1]:1']) {
    const e = parseEndpoint(text);
    t.equal(isRelayEndpoint(e), false, `${text} is not relayed`);
    t.equal(parseRelayEndpoint(e), undefined, `${text} does not parse`);
  }
});

t.test('100:: addresses that are not ours do not parse', async (t) => {
  // Our prefix with another port: not a relayed path (port 2 is a birthday socket's, extra-sockets.ts).
  for (const port of [0, 2, 51820, 65535]) {
    const e = makeEndpoint('100::1:2', port);
    t.equal(isRelayEndpoint(e), false, `port ${port}: not a relayed path`);
    t.equal(parseRelayEndpoint(e), undefined, `port ${port} is not a virtual endpoint`);
  }
  t.notOk(isRelayEndpoint(socketEndpoint(5)), 'a birthday socket\'s endpoint is not a relayed path');
  t.ok(isSocketEndpoint(socketEndpoint(5)) && !isSocketEndpoint(relayEndpoint(1, 5)), 'nor the other way round');
  // More than two groups after the prefix is not one of ours either.
  t.equal(parseRelayEndpoint(makeEndpoint('100::1:2:3', 1)), undefined, 'three groups');
  t.equal(parseRelayEndpoint(makeEndpoint('100::1:2:3:4', 1)), undefined, 'four groups');
  // The canonical text drops a zero group: "100::5" is link 0 (never allocated), member 5.
  t.same(parseRelayEndpoint(makeEndpoint('100::5', 1)), { linkSlot: 0, memberSlot: 5 });
});
