// Shared by the bits-per-byte baseline tests: a packed one-row batch with chosen scored positions,
// and a step-0 trainer over a base model extended with some tokens (its new rows set, not trained).
import { IGNORE_INDEX } from '../../src/model/head.ts';
import { loadModel, type LoadOptions } from '../../src/model/weights.ts';
import { extendTokenizer } from '../../src/tokenizer/extend.ts';
import { loadTokenizer, type LoadedTokenizer } from '../../src/tokenizer/load.ts';
import type { TokenizerArtifact } from '../../src/tokenizer/items.ts';
import { TrainConfig } from '../../src/train/config.ts';
import type { StepBatch } from '../../src/train/step.ts';
import { createTrainer, type Trainer } from '../../src/train/trainer.ts';

/** One packed row holding `ids`; `scored(k)` says whether token k is a target. */
export function oneRow(ids: Int32Array, scored: (k: number) => boolean): StepBatch {
  const T = ids.length;
  const targets = new Int32Array(T).fill(IGNORE_INDEX);
  for (let k = 1; k < T; k++) if (scored(k)) targets[k - 1] = ids[k];
  return { B: 1, T, inputIds: ids, targets, positionIds: Int32Array.from({ length: T }, (_, k) => k), documentIds: new Int32Array(T) };
}

type Candidate = Parameters<typeof extendTokenizer>[1][number];

/** The base tokenizer, the extended one, and a step-0 trainer whose new rows (embedding, and head when untied) are fixed values. */
export async function stepZero(baseDir: string, tokens: Candidate[], mode: 'added' | 'merge', load: LoadOptions = {}): Promise<{ base: LoadedTokenizer; ext: LoadedTokenizer; artifact: TokenizerArtifact; t: Trainer }> {
  const base = loadTokenizer(baseDir);
  const { artifact } = extendTokenizer(base, tokens, { mode });
  const model = await loadModel(baseDir, load);
  const H = model.config.hiddenSize;
  const n = artifact.newTokenIds.length;
  const t = createTrainer(model, TrainConfig.parse({ steps: 2 }), {
    newTokenIds: artifact.newTokenIds, newTokens: artifact.newTokens,
    embedRows: Float32Array.from({ length: n * H }, (_, i) => Math.sin(i)),
    ...(model.config.tieWordEmbeddings ? {} : { headRows: Float32Array.from({ length: n * H }, (_, i) => Math.cos(i)) }),
  }, 1);
  return { base, ext: loadTokenizer(artifact), artifact, t };
}
