// Room addresses: derived from the key, inside the subnet, stable, and collisions resolved the
// same way by every member whatever order it learns the claims in.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  candidateAddress,
  chooseAddress,
  claimTime,
  claimWinners,
  ADDRESS_CLAIM_SKEW_MS,
  DEFAULT_ROOM_SUBNET,
  inSubnet,
  parseMemberAddress,
  parseSubnet,
  type AddressClaim,
} from '../join/room/room-address.js';

const subnet = parseSubnet(DEFAULT_ROOM_SUBNET);

t.test('an address is a pure function of key and subnet, inside it, never .0 or .255', async (t) => {
  const key = randomBytes(32);
  t.equal(candidateAddress(key, subnet, 0), candidateAddress(Buffer.from(key), subnet, 0), 'stable for the same key');
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const a = candidateAddress(randomBytes(32), subnet, i % 3);
    t.ok(inSubnet(a, subnet), `${a} in the room subnet`);
    const last = Number(a.split('.')[3]);
    if (last === 0 || last === 255) t.fail(`unusable host ${a}`);
    seen.add(a);
  }
  t.ok(seen.size > 1900, `keys spread over the subnet (${seen.size} distinct of 2000)`);
  const seq = [0, 1, 2, 3].map((i) => candidateAddress(key, subnet, i));
  t.equal(new Set(seq).size, 4, 'each key has its own sequence of fallbacks');
  const small = parseSubnet('192.168.77.0/29');
  for (let i = 0; i < 50; i++) {
    const a = candidateAddress(randomBytes(32), small, 0);
    t.ok(['192.168.77.1', '192.168.77.2', '192.168.77.3', '192.168.77.4', '192.168.77.5', '192.168.77.6'].includes(a), `${a} is a usable /29 host`);
  }
});

t.test('flags: subnets and --address are checked with clear errors', async (t) => {
  t.strictSame(parseMemberAddress('10.147.7.9/16'), { address: '10.147.7.9', subnet: { network: (10 << 24 | 147 << 16) >>> 0, bits: 16 } });
  t.equal(parseMemberAddress('10.50.1.2').subnet.bits, 16, 'a bare address means /16');
  t.throws(() => parseMemberAddress('10.147.0.0/16'), /network or broadcast/);
  t.throws(() => parseMemberAddress('10.147.255.255/16'), /network or broadcast/);
  t.throws(() => parseMemberAddress('fd00::1/64'), /not an IPv4 address/);
  t.throws(() => parseMemberAddress('10.1.2.3/31'), /prefix must be/);
  t.throws(() => parseMemberAddress('010.1.2.3/16'), /not an IPv4 address/, 'no octal-looking octets');
  t.throws(() => parseSubnet('10.147.0.1/16'), /host bits are set/);
  t.throws(() => parseSubnet('10.147.0.0'), /not an IPv4 subnet/);
  t.throws(() => parseSubnet('10.0.0.0/4'), /must be/);
});

t.test('chooseAddress takes the first free address of the key\'s own sequence', async (t) => {
  const key = randomBytes(32);
  const first = candidateAddress(key, subnet, 0);
  t.equal(chooseAddress(key, subnet, () => false), first);
  t.equal(chooseAddress(key, subnet, (a) => a === first), candidateAddress(key, subnet, 1));
  t.throws(() => chooseAddress(key, subnet, () => true, 8), /no free address/);
});

/** Two keys whose natural addresses collide (found by search in a small subnet). */
function collidingKeys(s = parseSubnet('10.9.9.0/26')): [Buffer, Buffer] {
  const byAddress = new Map<string, Buffer>();
  for (;;) {
    const k = randomBytes(32);
    const a = candidateAddress(k, s, 0);
    const other = byAddress.get(a);
    if (other) return [other, k];
    byAddress.set(a, k);
  }
}

t.test('a collision at one claim time is resolved the same way by everyone: the lower key keeps the address', async (t) => {
  const s = parseSubnet('10.9.9.0/26');
  const [k1, k2] = collidingKeys(s);
  const addr = candidateAddress(k1, s, 0);
  const [low, high] = Buffer.compare(k1, k2) < 0 ? [k1, k2] : [k2, k1];
  const third = randomBytes(32);
  const claims: AddressClaim[] = [
    { publicKey: k1, address: addr, since: 100 },
    { publicKey: k2, address: addr, since: 100 },
    { publicKey: third, address: candidateAddress(third, s, 0), since: 100 },
  ];
  for (let i = 0; i < 6; i++) {
    const shuffled = [...claims].sort(() => Math.random() - 0.5);
    const winners = claimWinners(shuffled);
    t.ok(winners.get(addr)!.equals(low), 'the lower key wins whatever the order');
  }
  // The loser moves to the next free address of its own sequence, which everyone can verify.
  const taken = new Set(claims.map((c) => c.address));
  const moved = chooseAddress(high, s, (a) => taken.has(a));
  t.not(moved, addr);
  t.ok(inSubnet(moved, s));
  const after = claimWinners([{ publicKey: low, address: addr, since: 100 }, { publicKey: high, address: moved, since: 200 }, claims[2]!]);
  t.ok(after.get(moved)!.equals(high), 'after moving, the loser owns its new address');
  t.ok(after.get(addr)!.equals(low), 'the winner keeps its own');
});

t.test('the earlier claim keeps an address whatever the keys; a claim we saw appear is dated no earlier than that minus the skew', async (t) => {
  const [low, high] = [randomBytes(32), randomBytes(32)].sort(Buffer.compare) as [Buffer, Buffer];
  const addr = '10.147.1.1';
  const winner = (claims: AddressClaim[]) => claimWinners(claims).get(addr);
  t.ok(winner([{ publicKey: low, address: addr, since: 200 }, { publicKey: high, address: addr, since: 100 }])!.equals(high), 'the earlier claim wins over a lower key');
  t.ok(winner([{ publicKey: high, address: addr, since: 100 }, { publicKey: low, address: addr, since: 200 }])!.equals(high), 'in any order');
  t.equal(claimTime(5, undefined), 5, 'a claim older than we are is taken as signed');
  t.equal(claimTime(5, 1_000_000), 1_000_000 - ADDRESS_CLAIM_SKEW_MS, 'a backdated claim we saw appear is clamped');
  t.equal(claimTime(999_999, 1_000_000), 999_999, 'a claim within the skew is taken as signed');
});
