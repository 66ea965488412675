// The UAPI text protocol against the pure engine (the real `wg` tool is exercised in e2e).
import t from 'tap';
import { Device } from '../wireguard/device.js';
import { PrivateKey } from '../wireguard/crypto.js';
import { applySet, formatGet, UapiError, ERRNO_INVALID } from '../uapi/protocol.js';

const dev = () => new Device({ output: { udp() {}, tun() {} } });
const hex = (b: Buffer) => b.toString('hex');

t.test('set then get round-trips device and peer state', async (t) => {
  const d = dev();
  const me = PrivateKey.generate();
  const peer = PrivateKey.generate().publicKey;
  const psk = Buffer.alloc(32, 0xab);
  applySet(d, [
    `private_key=${hex(me.raw)}`,
    `public_key=${hex(peer)}`,
    `preshared_key=${hex(psk)}`,
    'endpoint=[2001:db8::5]:51820',
    'persistent_keepalive_interval=25',
    'replace_allowed_ips=true',
    'allowed_ip=10.0.0.2/32',
    'allowed_ip=fd00::/64',
    'protocol_version=1',
  ]);
  t.same(applySet(d, ['listen_port=51999']), { listenPort: 51999 }, 'a new port is handed to the I/O edge');
  t.same(applySet(d, ['fwmark=51']), { fwmark: 51 }, 'so is a fwmark (it marks the socket)');
  t.equal(d.fwmark, 0, 'the engine takes it only once the socket has it');
  t.throws(() => applySet(d, ['fwmark=4294967296']), UapiError);
  d.fwmark = 51;
  const out = formatGet(d);
  t.match(out, new RegExp(`^private_key=${hex(me.raw)}\n`));
  t.match(out, /fwmark=51\n/);
  t.match(out, new RegExp(`public_key=${hex(peer)}\npreshared_key=${hex(psk)}\nprotocol_version=1\nendpoint=\\[2001:db8::5\\]:51820\n`));
  // Turning persistent keepalive on sends one at once, which starts a handshake: one initiation sent.
  t.match(out, /last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=148\nrx_bytes=0\npersistent_keepalive_interval=25\n/);
  t.match(out, /allowed_ip=10.0.0.2\/32\nallowed_ip=fd00::\/64\n$/);
  t.ok(out.split('\n').slice(0, -1).every((l) => /^[a-z_]+=\S+$/.test(l)), 'every line is key=value');
});

t.test('allowed_ip removal, replace_allowed_ips, remove, replace_peers, update_only', async (t) => {
  const d = dev();
  applySet(d, [`private_key=${hex(PrivateKey.generate().raw)}`]);
  const p1 = PrivateKey.generate().publicKey;
  const p2 = PrivateKey.generate().publicKey;
  applySet(d, [`public_key=${hex(p1)}`, 'allowed_ip=10.0.0.0/24', 'allowed_ip=10.0.1.0/24', `public_key=${hex(p2)}`, 'allowed_ip=10.0.2.0/24']);
  applySet(d, [`public_key=${hex(p1)}`, 'allowed_ip=-10.0.0.0/24']);
  t.notMatch(formatGet(d), /10\.0\.0\.0\/24/);
  applySet(d, [`public_key=${hex(p1)}`, 'replace_allowed_ips=true', 'allowed_ip=10.9.0.0/16']);
  t.notMatch(formatGet(d), /10\.0\.1\.0\/24/);
  t.match(formatGet(d), /10\.9\.0\.0\/16/);
  // moving a prefix to another peer
  applySet(d, [`public_key=${hex(p2)}`, 'allowed_ip=10.9.0.0/16']);
  t.same(d.allowedIps.prefixesOf(d.getPeer(p1)!), []);
  applySet(d, [`public_key=${hex(p1)}`, 'remove=true']);
  t.equal(d.listPeers().length, 1);
  const p3 = PrivateKey.generate().publicKey;
  applySet(d, [`public_key=${hex(p3)}`, 'update_only=true', 'allowed_ip=10.5.0.0/16']);
  t.equal(d.listPeers().length, 1, 'update_only does not create');
  applySet(d, ['replace_peers=true']);
  t.equal(d.listPeers().length, 0);
});

t.test('bad lines give errno -22 (EINVAL)', async (t) => {
  const d = dev();
  const bad = [
    ['private_key=zz'],
    ['listen_port=abc'],
    ['nonsense=1'],
    [`public_key=${hex(PrivateKey.generate().publicKey)}`, 'endpoint=nowhere'],
    [`public_key=${hex(PrivateKey.generate().publicKey)}`, 'allowed_ip=10.0.0.0/99'],
    [`public_key=${hex(PrivateKey.generate().publicKey)}`, 'persistent_keepalive_interval=70000'],
    [`public_key=${hex(PrivateKey.generate().publicKey)}`, 'protocol_version=2'],
  ];
  for (const lines of bad) {
    let err: unknown;
    try {
      applySet(d, lines);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof UapiError && err.errno === ERRNO_INVALID, `${lines.join(' ')} → ${String(err)}`);
  }
});

t.test('setting our own public key as a peer is ignored', async (t) => {
  const d = dev();
  const me = PrivateKey.generate();
  applySet(d, [`private_key=${hex(me.raw)}`, `public_key=${hex(me.publicKey)}`, 'allowed_ip=10.0.0.0/8']);
  t.equal(d.listPeers().length, 0);
});
