import t from 'tap';
import { parseWgQuick } from '../config/wg-quick.js';
import { genkey, pubkey } from '../../cli/keys.js';

const priv = genkey().trim();
const pub = pubkey(genkey()).trim();
const pub2 = pubkey(genkey()).trim();

t.test('a full file parses', async (t) => {
  const c = parseWgQuick(`# comment
[Interface]
PrivateKey = ${priv}
ListenPort = 51820
Address = 10.0.0.1/24, fd00::1/64
MTU = 1380
DNS = 1.1.1.1

[Peer]
PublicKey = ${pub}
AllowedIPs = 10.0.0.2/32, fd00::2/128
Endpoint = 198.51.100.2:51821
PersistentKeepalive = 25

[Peer]
PublicKey = ${pub2}
AllowedIPs = 10.1.0.0/16
Endpoint = [2001:db8::1]:51820
`);
  t.equal(c.interface.listenPort, 51820);
  t.same(c.interface.addresses, ['10.0.0.1/24', 'fd00::1/64']);
  t.equal(c.interface.mtu, 1380);
  t.same(c.ignored, []);
  t.same(c.interface.dns, { servers: ['1.1.1.1'], search: [] });
  t.equal(c.interface.table, 'auto', 'Table defaults to auto');
  t.equal(c.peers.length, 2);
  t.same(c.peers[0]!.endpoint, { host: '198.51.100.2', port: 51821 });
  t.equal(c.peers[0]!.persistentKeepalive, 25);
  t.equal(c.peers[0]!.allowedIps.length, 2);
  t.same(c.peers[1]!.endpoint, { host: '2001:db8::1', port: 51820 });
  t.equal(c.peers[1]!.persistentKeepalive, 0);
});

const base = `[Interface]\nPrivateKey = ${priv}\n`;

t.test('FwMark: decimal, 0x-hex or off, as wg takes it', async (t) => {
  for (const [text, mark] of [['51820', 51820], ['0x1234', 0x1234], ['0XfFfFfFfF', 0xffffffff], ['off', 0], ['0', 0]] as const) {
    t.equal(parseWgQuick(base + `FwMark = ${text}\n`).interface.fwmark, mark, `FwMark = ${text}`);
  }
  for (const bad of ['0x', '0x123456789', '-1', '4294967296', 'mark', '0x12g']) {
    t.throws(() => parseWgQuick(base + `FwMark = ${bad}\n`), /line 3: FwMark/, `FwMark = ${bad} is refused`);
  }
});
const cases: [string, string, RegExp][] = [
  ['no interface', `[Peer]\nPublicKey = ${pub}\n`, /no \[Interface\]/],
  ['no private key', '[Interface]\nListenPort = 1\n', /no PrivateKey/],
  ['bad key', '[Interface]\nPrivateKey = abc\n', /line 2: PrivateKey.*not a valid WireGuard key/],
  ['bad port', base + 'ListenPort = 70000\n', /line 3: ListenPort.*between 0 and 65535/],
  ['unknown key', base + 'Colour = blue\n', /line 3: Colour: unknown key/],
  ['unknown section', base + '[Peers]\n', /line 3: unknown section/],
  ['missing equals', base + 'ListenPort\n', /line 3: expected "Key = Value"/],
  ['bad allowed ip', base + `[Peer]\nPublicKey = ${pub}\nAllowedIPs = 10.0.0.300/32\n`, /line 5: AllowedIPs/],
  ['bad endpoint', base + `[Peer]\nPublicKey = ${pub}\nEndpoint = 2001:db8::1:51820\n`, /line 5: Endpoint/],
  ['peer without key', base + '[Peer]\nAllowedIPs = 10.0.0.0/8\n', /line 3: \[Peer\] has no PublicKey/],
  ['duplicate peer', base + `[Peer]\nPublicKey = ${pub}\n[Peer]\nPublicKey = ${pub}\n`, /same PublicKey/],
  ['key outside section', 'ListenPort = 1\n', /outside of a section/],
];
for (const [name, text, re] of cases) {
  t.test(`broken file: ${name}`, async (t) => {
    t.throws(() => parseWgQuick(text), re);
  });
}

t.test('wg-quick host keys: DNS, Table and the four hooks', async (t) => {
  const base = `[Interface]\nPrivateKey = ${priv}\n`;
  const c = parseWgQuick(`${base}DNS = 192.0.2.53, 2001:db8::53, corp.example, lab.example
Table = 1234
PreUp = echo pre %i
PostUp = iptables -A FORWARD -i %i -j ACCEPT; iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE
PostUp = echo second
PreDown = echo down a=b
PostDown = iptables -D FORWARD -i %i -j ACCEPT # removes it
SaveConfig = true
`);
  t.same(c.interface.dns, { servers: ['192.0.2.53', '2001:db8::53'], search: ['corp.example', 'lab.example'] });
  t.equal(c.interface.table, 1234);
  t.same(c.interface.hooks, {
    preUp: ['echo pre %i'],
    postUp: ['iptables -A FORWARD -i %i -j ACCEPT; iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE', 'echo second'],
    preDown: ['echo down a=b'],
    postDown: ['iptables -D FORWARD -i %i -j ACCEPT'],
  });
  t.same(c.ignored, ['SaveConfig']);
  t.equal(parseWgQuick(`${base}Table = off\n`).interface.table, 'off');
  t.equal(parseWgQuick(`${base}Table = main\n`).interface.table, 254);
  t.throws(() => parseWgQuick(`${base}Table = sometable\n`), /line 3: Table: must be off, auto, main or a table number, got "sometable"/);
});
