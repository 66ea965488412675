// Input generators shared by the property tests and `npm run fuzz`: random bytes, and valid
// encodings mutated the way byte-level fuzzers do (bit flips, byte sets, inserts, deletes,
// truncation, splices), so decoders see inputs close to what they accept as well as noise.
import fc from 'fast-check';

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; n: number }
  | { op: 'truncate'; at: number }
  | { op: 'splice'; at: number; other: number; from: number };

const position = fc.nat({ max: 0xffff });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  // Boundary values find off-by-one length and type checks more often than uniform bytes.
  fc.record({ op: fc.constant('set' as const), at: position, value: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 0x7f, 0x80, 0xff), fc.nat({ max: 255 })) }),
  fc.record({ op: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at: position, n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
  fc.record({ op: fc.constant('splice' as const), at: position, other: fc.nat(), from: position }),
);

function apply(input: Uint8Array, m: Mutation, seeds: readonly Uint8Array[]): Uint8Array {
  const n = input.length;
  switch (m.op) {
    case 'flip': {
      if (n === 0) return input;
      const out = Uint8Array.from(input);
      out[m.at % n]! ^= 1 << m.bit;
      return out;
    }
    case 'set': {
      if (n === 0) return input;
      const out = Uint8Array.from(input);
      out[m.at % n] = m.value;
      return out;
    }
    case 'insert': {
      const at = m.at % (n + 1);
      return concat(input.subarray(0, at), m.bytes, input.subarray(at));
    }
    case 'delete': {
      if (n === 0) return input;
      const at = m.at % n;
      return concat(input.subarray(0, at), input.subarray(at + m.n));
    }
    case 'truncate':
      return input.subarray(0, m.at % (n + 1));
    case 'splice': {
      // Head of this input, tail of another seed: mixes valid structures.
      const other = seeds[m.other % seeds.length]!;
      const at = m.at % (n + 1);
      return concat(input.subarray(0, at), other.subarray(m.from % (other.length + 1)));
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A seed with 1..`maxMutations` mutations stacked on it. */
export function mutatedFrom(seeds: readonly Uint8Array[], maxMutations = 6): fc.Arbitrary<Buffer> {
  if (seeds.length === 0) throw new RangeError('mutatedFrom needs at least one seed');
  return fc
    .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: maxMutations }))
    .map(([i, ms]) => Buffer.from(ms.reduce((acc, m) => apply(acc, m, seeds), seeds[i]!)));
}

/** Uniform noise, biased towards short inputs by fast-check's size handling. */
export function randomBytes(maxLength = 256): fc.Arbitrary<Buffer> {
  return fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));
}

/** Noise and mutated seeds, half and half: what every decoder property is run against. */
export function hostileBytes(seeds: readonly Uint8Array[], maxLength = 256): fc.Arbitrary<Buffer> {
  return fc.oneof(randomBytes(maxLength), mutatedFrom(seeds));
}

/** Text versions, for line- and JSON-based parsers: noise, mutated seeds as UTF-8, and full Unicode. */
export function hostileText(seeds: readonly string[]): fc.Arbitrary<string> {
  const bytes = seeds.map((s) => Buffer.from(s, 'utf8'));
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    mutatedFrom(bytes).map((b) => b.toString('utf8')),
    mutatedFrom(bytes).map((b) => b.toString('latin1')),
  );
}
