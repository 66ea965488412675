// Cryptokey routing table: longest-prefix match from an IP address to a peer, one
// path-compressed binary trie per address family. Lookups read the address straight out of the
// packet (no allocation per packet); inserting a prefix that exists moves it to the new value.
import type { Family, Prefix } from '../../shared/net/address.js';
import { maskBytes, maxBits } from '../../shared/net/address.js';

interface Node<T> {
  /** The prefix this node stands for: bytes with host bits cleared, and its length. */
  key: Uint8Array;
  bits: number;
  /** undefined: a branching node that routes nothing itself. */
  value: T | undefined;
  children: [Node<T> | undefined, Node<T> | undefined];
}

function bitAt(bytes: Uint8Array, offset: number, i: number): 0 | 1 {
  return ((bytes[offset + (i >>> 3)]! >>> (7 - (i & 7))) & 1) as 0 | 1;
}

/** True if the first `bits` bits of `key` equal those of `bytes` at `offset`. */
function matches(key: Uint8Array, bytes: Uint8Array, offset: number, bits: number): boolean {
  const whole = bits >>> 3;
  for (let i = 0; i < whole; i++) if (key[i] !== bytes[offset + i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((key[whole]! ^ bytes[offset + whole]!) & mask) === 0;
}

/** How many leading bits `a` and `b` share, at most `limit`. */
function commonBits(a: Uint8Array, b: Uint8Array, limit: number): number {
  let n = 0;
  while (n < limit) {
    const i = n >>> 3;
    const x = a[i]! ^ b[i]!;
    if (x === 0) {
      n += 8;
      continue;
    }
    return Math.min(limit, n + Math.clz32(x) - 24);
  }
  return limit;
}

export class AllowedIps<T> {
  private readonly roots: Record<Family, Node<T> | undefined> = { 4: undefined, 6: undefined };

  /** The value routing the address at `bytes[offset..]`, or undefined. */
  lookup(family: Family, bytes: Uint8Array, offset = 0): T | undefined {
    let node = this.roots[family];
    let best: T | undefined;
    const max = maxBits(family);
    while (node && matches(node.key, bytes, offset, node.bits)) {
      if (node.value !== undefined) best = node.value;
      if (node.bits === max) break;
      node = node.children[bitAt(bytes, offset, node.bits)];
    }
    return best;
  }

  insert(prefix: Prefix, value: T): void {
    const key = maskBytes(prefix.bytes, prefix.bits);
    const fresh: Node<T> = { key, bits: prefix.bits, value, children: [undefined, undefined] };
    let link: { get(): Node<T> | undefined; set(n: Node<T>): void } = {
      get: () => this.roots[prefix.family],
      set: (n) => (this.roots[prefix.family] = n),
    };
    for (;;) {
      const node = link.get();
      if (!node) return link.set(fresh);
      const common = commonBits(node.key, key, Math.min(node.bits, prefix.bits));
      if (common === node.bits && node.bits === prefix.bits) {
        node.value = value;
        return;
      }
      if (common === node.bits) {
        // `node` is a shorter prefix of ours: go down the side our next bit points to.
        const side = bitAt(key, 0, node.bits);
        link = { get: () => node.children[side], set: (n) => (node.children[side] = n) };
        continue;
      }
      if (common === prefix.bits) {
        // Ours is a shorter prefix of `node`: it becomes node's parent.
        fresh.children[bitAt(node.key, 0, prefix.bits)] = node;
        return link.set(fresh);
      }
      // The two diverge below both lengths: a branching node at the split holds them.
      const glue: Node<T> = { key: maskBytes(key, common), bits: common, value: undefined, children: [undefined, undefined] };
      glue.children[bitAt(key, 0, common)] = fresh;
      glue.children[bitAt(node.key, 0, common)] = node;
      return link.set(glue);
    }
  }

  /** Removes `prefix` if it currently routes to `value`. */
  remove(prefix: Prefix, value: T): boolean {
    const key = maskBytes(prefix.bytes, prefix.bits);
    let node = this.roots[prefix.family];
    while (node && node.bits <= prefix.bits && matches(node.key, key, 0, node.bits)) {
      if (node.bits === prefix.bits) {
        if (node.value !== value) return false;
        node.value = undefined;
        this.compact(prefix.family);
        return true;
      }
      node = node.children[bitAt(key, 0, node.bits)];
    }
    return false;
  }

  /** Removes every prefix routing to `value` (a peer being removed or replacing its list). */
  removeByValue(value: T): void {
    for (const family of [4, 6] as const) {
      let changed = false;
      this.walk(this.roots[family], (n) => {
        if (n.value === value) {
          n.value = undefined;
          changed = true;
        }
      });
      if (changed) this.compact(family);
    }
  }

  prefixesOf(value: T): Prefix[] {
    const out: Prefix[] = [];
    for (const family of [4, 6] as const) {
      this.walk(this.roots[family], (n) => {
        if (n.value === value) out.push({ family, bytes: Uint8Array.from(n.key), bits: n.bits });
      });
    }
    return out;
  }

  private walk(node: Node<T> | undefined, visit: (n: Node<T>) => void): void {
    const stack: Node<T>[] = node ? [node] : [];
    while (stack.length > 0) {
      const n = stack.pop()!;
      visit(n);
      if (n.children[0]) stack.push(n.children[0]);
      if (n.children[1]) stack.push(n.children[1]);
    }
  }

  /** Drops empty leaves and empty single-child nodes left behind by removals. */
  private compact(family: Family): void {
    const prune = (n: Node<T> | undefined): Node<T> | undefined => {
      if (!n) return undefined;
      n.children[0] = prune(n.children[0]);
      n.children[1] = prune(n.children[1]);
      if (n.value !== undefined) return n;
      if (n.children[0] && n.children[1]) return n;
      return n.children[0] ?? n.children[1];
    };
    this.roots[family] = prune(this.roots[family]);
  }
}
