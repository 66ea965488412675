// Property test of the relay switch as a state machine fed by an attacker who can forge any
// source address but only reads what is sent to addresses it owns: DATA is never forwarded to an
// address that did not echo a CHALLENGE cookie sent to it, and every datagram is accounted for.
import t from 'tap';
import fc from 'fast-check';
import { checkProperty } from '../../fuzz/check.js';
import { mutatedFrom } from '../../fuzz/mutate.js';
import type { Endpoint } from '../net/address.js';
import { RelaySwitch } from '../relay/relay-switch.js';
import { RELAY_CHALLENGE, RELAY_DATA, decodeRelayPacket, encodeBind, encodeData } from '../wire/relay.js';

const ADDRS: Endpoint[] = [1, 2, 3, 4].map((i) => ({ address: `192.0.2.${i}`, port: 1000 + i, family: 4 }));
const IDS = ['alice', 'bob', 'carol'];
const key = (e: Endpoint) => `${e.address}:${e.port}`;
const wgTransport = Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.alloc(28, 9)]);

type Action =
  | { kind: 'bind'; id: number; from: number; cookie: 'none' | 'random' | 'issued'; issuedAt: number; issuedFor: number }
  | { kind: 'data'; from: number; to: number }
  | { kind: 'junk'; from: number; bytes: Buffer }
  | { kind: 'wait'; ms: number };

const addr = fc.nat({ max: ADDRS.length - 1 });
const idx = fc.nat({ max: IDS.length - 1 });
const seeds = [encodeBind(Buffer.alloc(12), 'alice', Buffer.from('ok')), encodeData('bob', wgTransport)];
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('bind' as const), id: idx, from: addr, cookie: fc.constantFrom('none' as const, 'random' as const, 'issued' as const), issuedAt: addr, issuedFor: idx }),
  fc.record({ kind: fc.constant('data' as const), from: addr, to: idx }),
  fc.record({ kind: fc.constant('junk' as const), from: addr, bytes: mutatedFrom(seeds, 3) }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.constantFrom(10, 30_000, 61_000, 100_000) }),
);

function totals(s: RelaySwitch): number {
  return s.stats.packets + s.stats.binds + s.stats.challenges + [...s.stats.dropped.values()].reduce((a, b) => a + b, 0);
}

t.test('DATA only reaches addresses that proved they receive there', async (t) => {
  checkProperty(
    t,
    'forged BINDs never aim traffic at an unproven address; every datagram is counted once',
    fc.property(fc.array(action, { minLength: 1, maxLength: 40 }), (actions) => {
      const sw = new RelaySwitch({ authorize: () => true, mayForward: () => true }, { bindingTtlMs: 90_000 });
      let now = 1_000_000;
      /** Cookies each address has received, by id: the attacker may replay them from anywhere. */
      const issued = new Map<string, Buffer>();
      /** Addresses that echoed, from themselves, a cookie that was sent to them for that id. */
      const proven = new Set<string>();
      for (const a of actions) {
        if (a.kind === 'wait') {
          now += a.ms;
          continue;
        }
        const from = ADDRS[a.from]!;
        let data: Buffer;
        if (a.kind === 'bind') {
          const id = IDS[a.id]!;
          const have = issued.get(`${key(ADDRS[a.issuedAt]!)}|${IDS[a.issuedFor]}`);
          const cookie = a.cookie === 'random' ? Buffer.alloc(16, 0xaa) : a.cookie === 'issued' ? have : undefined;
          if (cookie && have && cookie === have && a.issuedAt === a.from && a.issuedFor === a.id) proven.add(key(from));
          data = encodeBind(Buffer.alloc(12, a.id), id, Buffer.from('auth'), cookie);
        } else if (a.kind === 'data') data = encodeData(IDS[a.to]!, wgTransport);
        else data = a.bytes;
        const before = totals(sw);
        let out;
        try {
          out = sw.receive(data, from, now);
        } catch {
          return false;
        }
        if (totals(sw) !== before + 1) return false;
        for (const o of out) {
          const p = decodeRelayPacket(o.data);
          if (p?.type === RELAY_CHALLENGE) {
            // The BIND that caused it names the id; remember the cookie where it was sent.
            const bind = decodeRelayPacket(data);
            if (bind && 'id' in bind) issued.set(`${key(o.to)}|${bind.id}`, p.cookie);
            if (key(o.to) !== key(from)) return false;
          }
          if (p?.type === RELAY_DATA && !proven.has(key(o.to))) return false;
        }
      }
      return true;
    }),
    { numRuns: 600 },
  );
});
