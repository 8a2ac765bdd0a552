// float32 <-> bfloat16 / float16 conversions: hand-computed bit patterns for rounding edge cases,
// plus a brute-force oracle that picks the nearest representable value by plain comparison.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../src/io/safetensors.ts';

/** float32 values from raw bit patterns (no float round trip, so NaN payloads survive). */
function fromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}
const hex = (xs: ArrayLike<number>) => Array.from(xs, (x) => '0x' + x.toString(16).padStart(4, '0'));

test('f32 -> bf16 rounds to nearest, ties to even, on hand-computed bit patterns', () => {
  const cases: [number, number, string][] = [
    [0x3f800000, 0x3f80, '1.0 exact'],
    [0x3f807fff, 0x3f80, 'just below half an ulp: down'],
    [0x3f808000, 0x3f80, 'tie, kept bit even: stays'],
    [0x3f808001, 0x3f81, 'just above half an ulp: up'],
    [0x3f818000, 0x3f82, 'tie, kept bit odd: up to even'],
    [0xbf818000, 0xbf82, 'negative tie rounds magnitude to even'],
    [0x80000000, 0x8000, '-0 keeps its sign'],
    [0x00000001, 0x0000, 'smallest f32 subnormal rounds to +0'],
    [0x00008000, 0x0000, 'subnormal tie, even: 0'],
    [0x00018000, 0x0002, 'subnormal tie, odd: up'],
    [0x7f7f7fff, 0x7f7f, 'largest finite below the tie stays finite'],
    [0x7f7f8000, 0x7f80, 'tie at the top rounds to even = +Inf'],
    [0x7f7fffff, 0x7f80, 'FLT_MAX overflows to +Inf'],
    [0xff7fffff, 0xff80, '-FLT_MAX overflows to -Inf'],
    [0x7f800000, 0x7f80, '+Inf'],
    [0xff800000, 0xff80, '-Inf'],
    [0x7fc00000, 0x7fc0, 'quiet NaN'],
    [0xffc00000, 0xffc0, 'negative NaN keeps its sign'],
    [0x7f800001, 0x7fc0, 'NaN with payload only in dropped bits stays NaN (not Inf)'],
    [0x7fa00000, 0x7fa0, 'NaN payload in kept bits is kept'],
  ];
  const got = f32ToBf16(fromBits(cases.map((c) => c[0])));
  cases.forEach(([, want, why], i) => assert.equal(hex([got[i]])[0], hex([want])[0], why));
});

test('bf16 -> f32 -> bf16 is exact for all 65536 bit patterns', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToBf16(bf16ToF32(all));
  assert.deepEqual(back, all);
  // bf16 is the top half of a float32: 0x3f80 is 1.0, 0xc0490fdb-truncated is about -pi
  assert.deepEqual(Array.from(bf16ToF32(new Uint16Array([0x3f80, 0xc049, 0x0001]))), [1, -3.140625, 9.183549615799121e-41]);
});

// Oracle: the two bf16 neighbours of x (truncation and one above), compared as exact doubles.
function nearestBf16(x: number, bits: number): number {
  const lo = bits >>> 16;
  const a = bf16ToF32(new Uint16Array([lo]))[0];
  const b = bf16ToF32(new Uint16Array([lo + 1]))[0];
  const da = Math.abs(x - a);
  const db = Math.abs(x - b);
  if (da < db) return lo;
  if (db < da) return lo + 1;
  return (lo & 1) === 0 ? lo : lo + 1;
}

test('f32 -> bf16 matches a nearest-value oracle on random finite floats', () => {
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed);
  const bits: number[] = [];
  while (bits.length < 20000) {
    const b = rand();
    if (((b >>> 23) & 0xff) < 0xfe) bits.push(b); // finite, and the upper neighbour stays finite
  }
  const xs = fromBits(bits);
  const got = f32ToBf16(xs);
  for (let i = 0; i < bits.length; i++) {
    const want = nearestBf16(xs[i], bits[i]);
    if (got[i] !== want) assert.fail(`0x${bits[i].toString(16)}: got ${hex([got[i]])} want ${hex([want])}`);
  }
});

test('f32 -> f16 hand-computed cases: ties to even, subnormals, overflow, specials', () => {
  const p = 2 ** -24; // smallest f16 subnormal
  const cases: [number, number, string][] = [
    [1, 0x3c00, '1.0'],
    [-2, 0xc000, '-2.0'],
    [1 + 2 ** -11, 0x3c00, 'tie above 1.0: even stays'],
    [1 + 3 * 2 ** -11, 0x3c02, 'tie, odd: up'],
    [1 + 2 ** -11 + 2 ** -20, 0x3c01, 'just above the tie: up'],
    [65504, 0x7bff, 'largest finite'],
    [65519, 0x7bff, 'below the overflow tie stays finite'],
    [65520, 0x7c00, 'overflow tie rounds to even = Inf'],
    [1e10, 0x7c00, 'far overflow: Inf'],
    [-1e10, 0xfc00, 'far negative overflow: -Inf'],
    [p, 0x0001, 'smallest subnormal'],
    [p / 2, 0x0000, 'half the smallest subnormal: tie to even 0'],
    [p * 0.75, 0x0001, 'three quarters: up'],
    [p * 1.5, 0x0002, '1.5 ulp tie: even 2'],
    [p * 2.5, 0x0002, '2.5 ulp tie: even 2'],
    [p / 4, 0x0000, 'quarter ulp: 0'],
    [1023 * p, 0x03ff, 'largest subnormal'],
    [1023.5 * p, 0x0400, 'tie between largest subnormal and smallest normal: even (normal)'],
    [2 ** -14, 0x0400, 'smallest normal'],
    [-p, 0x8001, 'negative subnormal'],
    [-0, 0x8000, '-0'],
    [Infinity, 0x7c00, '+Inf'],
    [-Infinity, 0xfc00, '-Inf'],
  ];
  const got = f32ToF16(new Float32Array(cases.map((c) => c[0])));
  cases.forEach(([, want, why], i) => assert.equal(hex([got[i]])[0], hex([want])[0], why));
  const nan = f32ToF16(fromBits([0x7fc00000, 0xffc00000, 0x7f800001]));
  assert.deepEqual(hex(nan), ['0x7e00', '0xfe00', '0x7e00'], 'NaN stays NaN, sign kept');
});

test('f16 -> f32 hand-computed values incl. subnormals; f16 round trip exact for all patterns', () => {
  const got = f16ToF32(new Uint16Array([0x0001, 0x03ff, 0x8001, 0x0400, 0x7bff, 0x3555, 0x3c00, 0x7c00, 0xfc00, 0x8000]));
  assert.deepEqual(Array.from(got), [2 ** -24, 1023 * 2 ** -24, -(2 ** -24), 2 ** -14, 65504, 0.333251953125, 1, Infinity, -Infinity, -0]);
  assert.ok(Number.isNaN(f16ToF32(new Uint16Array([0x7e00]))[0]));
  const all = new Uint16Array(65536).map((_, i) => i);
  assert.deepEqual(f32ToF16(f16ToF32(all)), all);
});

test('f32 -> f16 matches a nearest-value oracle over the whole f16 range', () => {
  // Every finite non-negative f16 value, ascending (patterns 0x0000..0x7bff are monotonic).
  const finite = f16ToF32(new Uint16Array(0x7c00).map((_, i) => i));
  let seed = 777;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0), seed / 2 ** 32);
  const xs = new Float32Array(20000).map(() => (rand() < 0.5 ? -1 : 1) * 2 ** (rand() * 44 - 28) * (1 + rand()));
  const got = f32ToF16(xs);
  for (let i = 0; i < xs.length; i++) {
    const x = Math.abs(xs[i]);
    let want: number;
    if (x >= 65520) want = 0x7c00;
    else {
      let lo = 0;
      let hi = finite.length - 1; // binary search for the last value <= x
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (finite[mid] <= x) lo = mid;
        else hi = mid - 1;
      }
      const up = Math.min(lo + 1, finite.length - 1);
      const dl = x - finite[lo];
      const du = finite[up] - x;
      want = dl < du || up === lo ? lo : du < dl ? up : lo % 2 === 0 ? lo : up;
    }
    if (xs[i] < 0) want |= 0x8000;
    if (got[i] !== want) assert.fail(`${xs[i]}: got ${hex([got[i]])} want ${hex([want])}`);
  }
});
