// The routing trie against a slow, obviously-correct reference on random prefixes.
import t from 'tap';
import { randomBytes, randomInt } from 'node:crypto';
import { AllowedIps } from '../wireguard/allowed-ips.js';
import { maskBytes, parseAddress, parsePrefix, type Family, type Prefix } from '../../shared/net/address.js';

/** Reference: scan every prefix, keep the longest that matches. */
class SlowTable {
  entries = new Map<string, { p: Prefix; v: number }>();
  key = (p: Prefix) => `${p.family}|${Buffer.from(p.bytes).toString('hex')}/${p.bits}`;
  insert(p: Prefix, v: number) {
    this.entries.set(this.key(p), { p, v });
  }
  remove(p: Prefix, v: number) {
    const e = this.entries.get(this.key(p));
    if (e && e.v === v) this.entries.delete(this.key(p));
  }
  removeByValue(v: number) {
    for (const [k, e] of this.entries) if (e.v === v) this.entries.delete(k);
  }
  lookup(family: Family, addr: Uint8Array): number | undefined {
    let best: { p: Prefix; v: number } | undefined;
    for (const e of this.entries.values()) {
      if (e.p.family !== family) continue;
      if (Buffer.compare(maskBytes(addr, e.p.bits), e.p.bytes) !== 0) continue;
      if (!best || e.p.bits > best.p.bits) best = e;
    }
    return best?.v;
  }
}

/** Random prefixes clustered in a small space, so they nest and collide often. */
function randomPrefix(family: Family): Prefix {
  const len = family === 4 ? 4 : 16;
  const bytes = randomBytes(len);
  bytes[0] = family === 4 ? 10 : 0xfd;
  if (randomInt(2)) bytes[1] = 0;
  const bits = randomInt(family === 4 ? 33 : 129);
  return { family, bytes: maskBytes(bytes, bits), bits };
}

function randomAddress(family: Family): Uint8Array {
  const a = randomBytes(family === 4 ? 4 : 16);
  a[0] = family === 4 ? 10 : 0xfd;
  if (randomInt(2)) a[1] = 0;
  return a;
}

t.test('matches the reference on random inserts, removals and lookups', async (t) => {
  for (const family of [4, 6] as const) {
    const trie = new AllowedIps<number>();
    const slow = new SlowTable();
    const inserted: Prefix[] = [];
    let mismatches = 0;
    for (let round = 0; round < 3000; round++) {
      const op = randomInt(10);
      if (op < 6 || inserted.length === 0) {
        const p = randomPrefix(family);
        const v = randomInt(8);
        trie.insert(p, v);
        slow.insert(p, v);
        inserted.push(p);
      } else if (op < 8) {
        const p = inserted[randomInt(inserted.length)]!;
        const v = randomInt(8);
        trie.remove(p, v);
        slow.remove(p, v);
      } else if (op === 8 && round % 50 === 0) {
        const v = randomInt(8);
        trie.removeByValue(v);
        slow.removeByValue(v);
      }
      for (let q = 0; q < 5; q++) {
        const addr = randomAddress(family);
        if (trie.lookup(family, addr) !== slow.lookup(family, addr)) mismatches++;
      }
    }
    t.equal(mismatches, 0, `IPv${family}: no lookup differs from the reference`);
    for (let v = 0; v < 8; v++) {
      const fromTrie = trie.prefixesOf(v).map((p) => slow.key(p)).sort();
      const fromSlow = [...slow.entries.values()].filter((e) => e.v === v).map((e) => slow.key(e.p)).sort();
      t.same(fromTrie, fromSlow, `IPv${family}: prefixesOf(${v}) lists exactly its prefixes`);
    }
  }
});

t.test('longest prefix wins; an existing prefix moves to the new peer; families are apart', async (t) => {
  const trie = new AllowedIps<string>();
  trie.insert(parsePrefix('0.0.0.0/0'), 'default');
  trie.insert(parsePrefix('10.0.0.0/8'), 'a');
  trie.insert(parsePrefix('10.1.0.0/16'), 'b');
  trie.insert(parsePrefix('10.1.2.3/32'), 'c');
  trie.insert(parsePrefix('::/0'), 'v6default');
  const at = (s: string) => {
    const ip = parseAddress(s);
    return trie.lookup(ip.family, ip.bytes);
  };
  t.equal(at('10.1.2.3'), 'c');
  t.equal(at('10.1.2.4'), 'b');
  t.equal(at('10.2.0.1'), 'a');
  t.equal(at('192.0.2.1'), 'default');
  t.equal(at('fd00::1'), 'v6default');
  trie.insert(parsePrefix('10.1.0.0/16'), 'a');
  t.equal(at('10.1.2.4'), 'a', 'moved');
  t.same(trie.prefixesOf('b'), []);
  t.notOk(trie.remove(parsePrefix('10.1.2.3/32'), 'a'), 'removing with the wrong owner does nothing');
  t.ok(trie.remove(parsePrefix('10.1.2.3/32'), 'c'));
  t.equal(at('10.1.2.3'), 'a');
  // host bits in the given prefix are ignored, as `wg` does
  trie.insert(parsePrefix('192.0.2.77/24'), 'net');
  t.equal(at('192.0.2.1'), 'net');
  t.same(trie.prefixesOf('net').map((p) => Array.from(p.bytes)), [[192, 0, 2, 0]]);
});

t.test('lookup reads the address in place inside a packet', async (t) => {
  const trie = new AllowedIps<string>();
  trie.insert(parsePrefix('fd00:1::/32'), 'p');
  const packet = Buffer.alloc(40);
  packet[0] = 0x60;
  Buffer.from(parseAddress('fd00:1::9').bytes).copy(packet, 24);
  t.equal(trie.lookup(6, packet, 24), 'p');
  t.equal(trie.lookup(6, packet, 8), undefined, 'source (zeros) not routed');
});
