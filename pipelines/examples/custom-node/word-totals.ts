// Example operator node (main thread): the node is an RxJS operator from its input stream to its
// output stream. The executor feeds `stats$` from the input edge one item at a time, only when
// the output is read, so a chain of RxJS operators keeps the pipeline's backpressure.
import { bufferCount, filter, map } from 'rxjs';
import { defineNode, registerItemKind, stream, z } from 'tokenpipe';
import type { LineStats } from './word-stats.ts';

export interface WordTotals {
  /** Positions of the lines in the group. */
  lines: number[];
  words: number;
}

// Item kinds registered with their TypeScript types, so `stats$` below is an
// Observable<LineStats>. word-stats.ts names 'line-stats' with a plain string: the names match.
const LINE_STATS = registerItemKind<LineStats>({ name: 'line-stats', description: 'word statistics of one line' });
const WORD_TOTALS = registerItemKind<WordTotals>({ name: 'word-totals', description: 'words of a group of lines' });

export default defineNode({
  name: 'word-totals',
  description: 'word totals of groups of long lines',
  params: z.strictObject({
    minWords: z.number().int().min(0).default(1).describe('lines with fewer words are left out'),
    group: z.number().int().min(1).default(2).describe('lines per group (the last one may be short)'),
  }),
  inputs: { stats: stream(LINE_STATS) },
  outputs: { totals: stream(WORD_TOTALS) },
  placement: 'main',
  operator: (params) => (stats$) =>
    stats$.pipe(
      filter((s) => s.words >= params.minWords),
      bufferCount(params.group),
      map((group) => ({ lines: group.map((s) => s.index), words: group.reduce((n, s) => n + s.words, 0) })),
    ),
});
