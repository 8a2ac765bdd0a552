// Seeded randomness and a bounded shuffle buffer (the tf.data / torchdata kind): memory is
// `size` items whatever the corpus size; each output is drawn at random from the buffer.
// A buffer of 1 (or 0) keeps the input order.

/** mulberry32: small, fast, seedable; good enough for ordering data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function* shuffleBuffer<T>(source: AsyncIterable<T>, size: number, seed: number): AsyncGenerator<T> {
  if (size <= 1) {
    yield* source;
    return;
  }
  const rand = rng(seed);
  const buf: T[] = [];
  for await (const x of source) {
    if (buf.length < size) {
      buf.push(x);
      continue;
    }
    const i = Math.floor(rand() * size);
    const out = buf[i];
    buf[i] = x;
    yield out;
  }
  // Drain in random order.
  while (buf.length > 0) {
    const i = Math.floor(rand() * buf.length);
    const out = buf[i];
    buf[i] = buf[buf.length - 1];
    buf.pop();
    yield out;
  }
}

/** Fisher-Yates permutation of 0..n-1. */
export function permutation(n: number, seed: number): number[] {
  const rand = rng(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}
