// Deterministic train/eval split: a document goes to eval when a seeded hash of its key
// falls below evalFraction. The same document lands in the same split on every run, with
// any number of workers, in any read order; by default the key is the text, so duplicates
// never straddle train and eval.
import { createHash } from 'node:crypto';

export type SplitBy = 'text' | 'id';

/** A number in [0, 1) from sha256(seed, key): uniform and stable across platforms. */
export function unitHash(key: string, seed: number): number {
  const d = createHash('sha256').update(`${seed}\u0000${key}`).digest();
  // 48 bits: exact in a double.
  return (d.readUIntBE(0, 6)) / 2 ** 48;
}

export function splitOf(doc: { id: string; text: string }, evalFraction: number, seed: number, by: SplitBy): 'train' | 'eval' {
  if (evalFraction <= 0) return 'train';
  if (evalFraction >= 1) return 'eval';
  return unitHash(by === 'id' ? doc.id : doc.text, seed) < evalFraction ? 'eval' : 'train';
}
