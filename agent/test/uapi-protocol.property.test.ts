// Property tests of the UAPI set protocol: any lines give a result or a UapiError with a known
// errno, never another exception; a device's get output, set on a fresh device, reads back the same.
import t from 'tap';
import fc from 'fast-check';
import { checkProperty } from '../../fuzz/check.js';
import { hostileText } from '../../fuzz/mutate.js';
import { Device } from '../wireguard/device.js';
import { ERRNO_INVALID, ERRNO_PROTOCOL, UapiError, applySet, formatGet } from '../uapi/protocol.js';

const dev = () => new Device({ output: { udp() {}, tun() {} } });
const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const peerLines = fc
  .record({
    key: hex,
    psk: hex,
    endpoint: fc.tuple(ipv4, fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `${a}:${p}`),
    keepalive: fc.nat(65535),
    allowed: fc.array(fc.tuple(ipv4, fc.nat(32)).map(([a, b]) => `${a}/${b}`), { maxLength: 3 }),
  })
  .map((p) => [`public_key=${p.key}`, `preshared_key=${p.psk}`, `endpoint=${p.endpoint}`, `persistent_keepalive_interval=${p.keepalive}`, 'replace_allowed_ips=true', ...p.allowed.map((a) => `allowed_ip=${a}`)]);
const setRequest = fc.array(peerLines, { maxLength: 3 }).map((ps) => ps.flat());

/** Lines `get` prints that `set` does not take (statistics). */
const READ_ONLY = /^(last_handshake_time_sec|last_handshake_time_nsec|tx_bytes|rx_bytes)=/;

t.test('get, set on a fresh device, get again gives the same text', async (t) => {
  checkProperty(
    t,
    'round trip',
    fc.property(setRequest, (lines) => {
      const a = dev();
      applySet(a, lines);
      const text = formatGet(a);
      const b = dev();
      applySet(b, text.split('\n').filter((l) => l !== '' && !READ_ONLY.test(l)));
      return formatGet(b) === text;
    }),
    { numRuns: 200 },
  );
});

t.test('any lines give a result or a UapiError', async (t) => {
  const seeds = fc.sample(setRequest, { numRuns: 5, seed: 9 }).map((l) => l.join('\n'));
  checkProperty(
    t,
    'random and mutated requests',
    fc.property(fc.oneof(hostileText(seeds), setRequest.map((l) => l.join('\n'))), (text) => {
      const d = dev(); // fresh: peers piling up on one device would make the test quadratic
      try {
        applySet(d, text.split('\n'));
        formatGet(d);
        return true;
      } catch (e) {
        return e instanceof UapiError && (e.errno === ERRNO_INVALID || e.errno === ERRNO_PROTOCOL);
      }
    }),
    { numRuns: 1500 },
  );
});
