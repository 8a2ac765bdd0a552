// Seeded random numbers whose whole state is four uint32 words, so a run can store the
// state in a checkpoint and continue the exact same sequence after `--resume`.
// Generator: xoshiro128** (Blackman & Vigna), seeded through splitmix32. We draw numbers in JS
// rather than with tf.random* because TF.js kernels give different streams per backend and
// cannot be resumed mid-sequence.

export interface RngState {
  /** xoshiro128** state words, each a uint32. */
  s: [number, number, number, number];
}

/** splitmix32 step: spreads a 32-bit seed over well-mixed words (never all zero in practice). */
function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a of a label, to derive named sub-streams from one run seed. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Rng {
  private s: Uint32Array;

  private constructor(s: ArrayLike<number>) {
    this.s = Uint32Array.from(s);
    if (this.s.length !== 4 || this.s.every((w) => w === 0)) {
      throw new RangeError('Rng state must be 4 uint32 words, not all zero');
    }
  }

  /** A generator from an integer seed; `label` gives an independent stream per use (e.g. 'lora-init'). */
  static seeded(seed: number, label = ''): Rng {
    const next = splitmix32((seed ^ hashLabel(label)) >>> 0);
    return new Rng([next(), next(), next(), next() || 1]);
  }

  static fromState(state: RngState): Rng {
    return new Rng(state.s);
  }

  state(): RngState {
    const [a, b, c, d] = this.s;
    return { s: [a, b, c, d] };
  }

  /** Next uint32. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 24 random bits, so the value is exact in float32 too. */
  uniform(): number {
    return (this.nextU32() >>> 8) * 2 ** -24;
  }

  /** Integer in [0, n). Rejection sampling keeps it unbiased. */
  int(n: number): number {
    if (!(n > 0 && n <= 2 ** 32)) throw new RangeError(`Rng.int: n must be in (0, 2^32], got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Fill `out` with uniform values in [lo, hi). */
  fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    const w = hi - lo;
    for (let i = 0; i < out.length; i++) out[i] = lo + w * this.uniform();
    return out;
  }

  /**
   * Inverted-dropout mask: each entry is 0 with probability p, else 1/(1-p) (so the expected
   * value of masked activations is unchanged, as torch.nn.Dropout does in training).
   */
  dropoutMask(n: number, p: number): Float32Array {
    if (!(p >= 0 && p < 1)) throw new RangeError(`dropout p must be in [0, 1), got ${p}`);
    const out = new Float32Array(n);
    const keep = 1 / (1 - p);
    for (let i = 0; i < n; i++) out[i] = this.uniform() < p ? 0 : keep;
    return out;
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}
