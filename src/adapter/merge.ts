// Folds an adapter into its base model and writes a plain Hugging Face folder, for servers that
// do not take adapters: vocabulary resized (new rows that the adapter does not store get the
// mean of the old rows, as resize_token_embeddings does), token rows written, every LoRA folded
// in as W + scaling·B·A, weights kept in the base's dtype, tokenizer files from the adapter.
// The folder is assembled under a temp name and renamed into place.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { replaceDir } from '../io/owned-dir.ts';
import { openMerged } from './merged.ts';
import { writeShardedSafetensors, type TensorToWrite } from '../io/safetensors.ts';
import { tempPath, writeFileAtomic } from '../io/atomic.ts';

export interface MergeOptions {
  /** Largest shard in bytes (default 5 GB, like save_pretrained). */
  maxShardBytes?: number;
}

export async function mergeAdapter(modelDir: string, adapterDir: string, outDir: string, opts: MergeOptions = {}): Promise<{ vocabSize: number; merged: number }> {
  const m = await openMerged(modelDir, adapterDir);
  const tensors: TensorToWrite[] = [];
  try {
    for (const t of m.tensors) {
      // tied: transformers re-ties lm_head to the embedding
      if (t.name === 'lm_head.weight' && m.config.tieWordEmbeddings) continue;
      if (!t.changed) {
        tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await t.raw() });
        continue;
      }
      const keepDtype = t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16' ? t.dtype : 'F32';
      tensors.push({ name: t.name, dtype: keepDtype, shape: t.shape, data: await t.f32() });
    }
  } finally {
    await m.close();
  }
  const tmp = tempPath(outDir);
  await mkdir(tmp, { recursive: true });
  try {
    await writeShardedSafetensors(tmp, tensors, { maxShardBytes: opts.maxShardBytes ?? 5e9, metadata: { format: 'pt' } });
    await writeFileAtomic(path.join(tmp, 'config.json'), JSON.stringify(m.configJson, null, 2) + '\n');
    if (m.tokenizer) {
      await writeFileAtomic(path.join(tmp, 'tokenizer.json'), JSON.stringify(m.tokenizer.tokenizerJson, null, 2) + '\n');
      await writeFileAtomic(path.join(tmp, 'tokenizer_config.json'), JSON.stringify(m.tokenizer.tokenizerConfig, null, 2) + '\n');
    }
    for (const f of ['generation_config.json', 'special_tokens_map.json', ...(m.tokenizer ? [] : ['tokenizer.json', 'tokenizer_config.json'])]) {
      if (existsSync(path.join(modelDir, f))) await copyFile(path.join(modelDir, f), path.join(tmp, f));
    }
    await replaceDir(tmp, outDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { vocabSize: m.vocabSize, merged: m.loraModules };
}
