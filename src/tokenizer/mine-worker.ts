// Pool-side entry of corpus mining, called through ctx.runOnPool(MINE_WORKER, 'countShardTask', arg).
// The tokenizer is built once per thread and kept (a Llama 3 tokenizer.json takes about a second
// to parse and build), so each task only pays for counting.
import { fileURLToPath } from 'node:url';
import { loadTokenizer, type LoadedTokenizer } from './load.ts';
import { countShard, type ShardCounts } from './mine.ts';

export interface CountShardTask {
  /** Model folder holding tokenizer.json (the base tokenizer). */
  tokenizerDir: string;
  texts: string[];
  maxWords: number;
  minPieces: number;
}

/** Absolute path of this module, for runOnPool. */
export const MINE_WORKER = fileURLToPath(import.meta.url);

const loaded = new Map<string, LoadedTokenizer>();

export function countShardTask(task: CountShardTask): ShardCounts {
  let tok = loaded.get(task.tokenizerDir);
  if (!tok) loaded.set(task.tokenizerDir, (tok = loadTokenizer(task.tokenizerDir)));
  return countShard(tok, task.texts, { maxWords: task.maxWords, minPieces: task.minPieces });
}
