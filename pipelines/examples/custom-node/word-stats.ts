// Example worker node: statistics of one line of text, computed on the shared worker pool.
// `init` runs once per worker thread; `process` once per item.
import { defineNode, z } from 'tokenpipe';

export interface LineStats {
  /** Position of the line in the stream. */
  index: number;
  words: number;
  /** Words not in the stop list, lower-cased. */
  content: string[];
  /** Length of each word, in characters: a fresh typed array, so its buffer is transferred. */
  lengths: Int32Array;
}

export default defineNode({
  name: 'word-stats',
  description: 'word count, content words and word lengths of each line',
  params: z.strictObject({
    stopWords: z.array(z.string()).default(['a', 'an', 'and', 'of', 'the', 'to']).describe('words left out of `content`'),
    minLength: z.number().int().min(1).default(1).describe('shorter words are ignored'),
  }),
  inputs: { lines: { kind: 'stream', item: 'text-line' } },
  outputs: { stats: { kind: 'stream', item: 'line-stats' } },
  placement: 'worker',
  init(params) {
    return { stop: new Set(params.stopWords.map((w) => w.toLowerCase())) };
  },
  process(line: string, params, ctx): LineStats {
    const words = line.split(/[^\p{L}\p{N}']+/u).filter((w) => w.length >= params.minLength);
    return {
      index: ctx.index,
      words: words.length,
      content: words.map((w) => w.toLowerCase()).filter((w) => !ctx.state.stop.has(w)),
      lengths: Int32Array.from(words, (w) => w.length),
    };
  },
});
