// Property tests of the wg-quick parser: any text gives a config or a ConfigError (naming a line
// within the file when the fault is on one), never another exception; valid files round-trip.
import t from 'tap';
import fc from 'fast-check';
import { checkProperty } from '../../fuzz/check.js';
import { hostileText } from '../../fuzz/mutate.js';
import { parseWgQuick } from '../config/wg-quick.js';
import { ConfigError } from '../../shared/errors.js';

const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const peer = fc.record({
  publicKey: key,
  presharedKey: fc.option(key, { nil: undefined }),
  allowed: fc.array(fc.tuple(ipv4, fc.nat(32)), { maxLength: 3 }),
  endpoint: fc.option(fc.tuple(fc.constantFrom('vpn.example.com', '192.0.2.7', '[2001:db8::1]'), fc.integer({ min: 1, max: 65535 })), { nil: undefined }),
  keepalive: fc.option(fc.nat(65535), { nil: undefined }),
});
const config = fc.record({
  privateKey: key,
  listenPort: fc.option(fc.nat(65535), { nil: undefined }),
  address: fc.option(fc.tuple(ipv4, fc.nat(32)), { nil: undefined }),
  mtu: fc.option(fc.integer({ min: 576, max: 65535 }), { nil: undefined }),
  peers: fc.uniqueArray(peer, { maxLength: 3, selector: (p) => p.publicKey.toString('hex') }),
});
type Config = typeof config extends fc.Arbitrary<infer C> ? C : never;

function render(c: Config): string {
  const lines = ['[Interface]', `PrivateKey = ${c.privateKey.toString('base64')}`];
  if (c.listenPort !== undefined) lines.push(`ListenPort = ${c.listenPort}`);
  if (c.address) lines.push(`Address = ${c.address[0]}/${c.address[1]}`);
  if (c.mtu !== undefined) lines.push(`MTU = ${c.mtu}  # comment`);
  for (const p of c.peers) {
    lines.push('', '[Peer]', `PublicKey = ${p.publicKey.toString('base64')}`);
    if (p.presharedKey) lines.push(`PresharedKey = ${p.presharedKey.toString('base64')}`);
    if (p.allowed.length) lines.push(`AllowedIPs = ${p.allowed.map(([a, b]) => `${a}/${b}`).join(', ')}`);
    if (p.endpoint) lines.push(`Endpoint = ${p.endpoint[0]}:${p.endpoint[1]}`);
    if (p.keepalive !== undefined) lines.push(`PersistentKeepalive = ${p.keepalive}`);
  }
  return lines.join('\n') + '\n';
}

const seeds = fc.sample(config, { numRuns: 5, seed: 3 }).map(render);

t.test('valid files round-trip', async (t) => {
  checkProperty(
    t,
    'render then parse gives the same values',
    fc.property(config, (c) => {
      const r = parseWgQuick(render(c));
      return (
        r.interface.privateKey.equals(c.privateKey) &&
        r.interface.listenPort === c.listenPort &&
        r.interface.mtu === c.mtu &&
        r.interface.addresses.join() === (c.address ? `${c.address[0]}/${c.address[1]}` : '') &&
        r.peers.length === c.peers.length &&
        r.peers.every((p, i) => {
          const q = c.peers[i]!;
          return (
            p.publicKey.equals(q.publicKey) &&
            (p.presharedKey?.toString('hex') ?? '') === (q.presharedKey?.toString('hex') ?? '') &&
            p.allowedIps.length === q.allowed.length &&
            p.persistentKeepalive === (q.keepalive ?? 0) &&
            (p.endpoint ? `${p.endpoint.host}:${p.endpoint.port}` : '') === (q.endpoint ? `${q.endpoint[0].replace(/^\[(.*)\]$/, '$1')}:${q.endpoint[1]}` : '')
          );
        })
      );
    }),
    { numRuns: 300 },
  );
});

t.test('any text gives a config or a ConfigError, nothing else', async (t) => {
  checkProperty(
    t,
    'random and mutated files',
    fc.property(fc.oneof(hostileText(seeds), fc.array(fc.constantFrom(...seeds.join('\n').split('\n'), '[Peer]', '[Interface]', 'x = y', '='), { maxLength: 12 }).map((l) => l.join('\n'))), (text) => {
      try {
        parseWgQuick(text);
        return true;
      } catch (e) {
        if (!(e instanceof ConfigError)) return false;
        if (e.code !== 'bad_line') return false;
        if (e.where === undefined) return true; // a whole-file fault: no [Interface], no PrivateKey
        const line = Number(/^line (\d+)$/.exec(e.where)?.[1]);
        return Number.isInteger(line) && line >= 1 && line <= text.split(/\r?\n/).length && e.message.startsWith(`line ${line}: `);
      }
    }),
    { numRuns: 2000 },
  );
});
