// PEFT adapter folders: what `PeftModel.from_pretrained` loads unchanged (checked against the
// files real PEFT 0.15.2 wrote, docs/peft-observed.md):
//   adapter_model.safetensors   F32, metadata {"format":"pt"}
//     base_model.model.<module>.lora_A.weight                          [r, in]
//     base_model.model.<module>.lora_B.weight                          [out, r]
//     base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta   [n, D]  absolute rows, list order
//     base_model.model.lm_head.token_adapter.trainable_tokens_delta               [m, D]  untied head only
//   or, in `full` mode, whole matrices the way PEFT saves modules_to_save (ModulesToSaveWrapper
//   .adapter_state_dict + adapter-name removal in save_and_load.py give "<module>.weight"):
//     base_model.model.model.embed_tokens.weight [V, D] and base_model.model.lm_head.weight [V, D]
//     (both written even for a tied model: PEFT deep-copies each wrapped module, so the two copies
//     are loaded separately and a missing one would fall back to the untrained rows)
//   adapter_config.json   every field PEFT 0.15.2 writes, sorted keys, indent 2
//   tokenizer.json, tokenizer_config.json   the extended tokenizer
//   tokenpipe.json   what tokenpipe needs to rebuild the run's state (ignored by PEFT)
//   README.md   how to load it in Python, and provenance
// The folder is assembled as `<dir>.tmp-*` and renamed into place, so a folder with the final
// name is always complete; a folder already there is replaced only if tokenpipe wrote it
// (src/io/owned-dir.ts).
import { mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AdapterFormatError } from '../errors.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../io/safetensors.ts';
import { tempPath, writeFileAtomic } from '../io/atomic.ts';
import { replaceDir } from '../io/owned-dir.ts';
import { sortedJson } from '../io/json.ts';
import { targetModuleNames, type LoraConfig, type PeftLoraWeights } from '../model/lora.ts';
import type { EmbeddingMode } from '../model/modes.ts';
import { adapterReadme, type Provenance } from './peft-readme.ts';
import { parsePeftConfig, type PeftFolderInfo } from './peft-config.ts';
import { portableBaseModel } from './base-model.ts';

export type { Provenance } from './peft-readme.ts';

const PREFIX = 'base_model.model.';
export const EMBED_ROWS_KEY = `${PREFIX}model.embed_tokens.token_adapter.trainable_tokens_delta`;
export const HEAD_ROWS_KEY = `${PREFIX}lm_head.token_adapter.trainable_tokens_delta`;
export const EMBED_FULL_KEY = `${PREFIX}model.embed_tokens.weight`;
export const HEAD_FULL_KEY = `${PREFIX}lm_head.weight`;
const LORA_KEY = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/;

/** Rows for a list of token ids: rows[k] is the absolute row of ids[k]. */
export interface TokenRows {
  ids: number[];
  /** [n, D] row-major */
  rows: Float32Array;
}

export interface AdapterContents {
  lora: Map<string, PeftLoraWeights>;
  loraConfig: LoraConfig;
  mode: EmbeddingMode;
  hiddenSize: number;
  /** Rows of the model after extension (what to resize the base to). */
  vocabSize: number;
  /** Rows of the base checkpoint before extension. */
  baseVocabSize: number;
  tieWordEmbeddings: boolean;
  baseModelNameOrPath: string;
  /** trainable-tokens and frozen modes (frozen: the untrained new rows, so the adapter is self-contained). */
  tokenRows?: { embed: TokenRows; lmHead?: TokenRows };
  /** full mode: whole [vocabSize, D] matrices; lmHead equals embed for a tied model. */
  fullRows?: { embed: Float32Array; lmHead: Float32Array };
  newTokens: string[];
  newTokenIds: number[];
}

export interface AdapterExtras {
  tokenizer?: { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> };
  provenance?: Provenance;
}

/** adapter_config.json exactly as PEFT 0.15.2 writes it for a LoRA adapter on a causal LM. */
export function peftConfigJson(c: AdapterContents): Record<string, unknown> {
  const tokenRows = c.tokenRows;
  const indices = tokenRows
    ? { embed_tokens: tokenRows.embed.ids, ...(tokenRows.lmHead ? { lm_head: tokenRows.lmHead.ids } : {}) }
    : null;
  return {
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: c.baseModelNameOrPath, bias: 'none',
    corda_config: null, eva_config: null, exclude_modules: null, fan_in_fan_out: false, inference_mode: true,
    init_lora_weights: true, layer_replication: null, layers_pattern: null, layers_to_transform: null,
    loftq_config: {}, lora_alpha: c.loraConfig.alpha, lora_bias: false, lora_dropout: c.loraConfig.dropout,
    megatron_config: null, megatron_core: 'megatron.core',
    modules_to_save: c.fullRows ? ['embed_tokens', 'lm_head'] : null,
    peft_type: 'LORA', r: c.loraConfig.r, rank_pattern: {}, revision: null,
    target_modules: targetModuleNames(c.loraConfig).sort(), task_type: 'CAUSAL_LM',
    trainable_token_indices: indices, use_dora: false, use_rslora: c.loraConfig.rslora,
  };
}

/** The tensors of adapter_model.safetensors, validated against the declared shapes. */
export function adapterTensors(c: AdapterContents): TensorToWrite[] {
  const D = c.hiddenSize;
  const r = c.loraConfig.r;
  const out: TensorToWrite[] = [];
  const f32 = (name: string, shape: number[], data: Float32Array) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new AdapterFormatError('<adapter>', `${name}: ${data.length} values for shape [${shape}]`);
    out.push({ name, dtype: 'F32', shape, data });
  };
  for (const [module, w] of c.lora) {
    f32(`${PREFIX}${module}.lora_A.weight`, [r, w.inF], w.A);
    f32(`${PREFIX}${module}.lora_B.weight`, [w.outF, r], w.B);
  }
  if (c.tokenRows) {
    f32(EMBED_ROWS_KEY, [c.tokenRows.embed.ids.length, D], c.tokenRows.embed.rows);
    if (c.tokenRows.lmHead) f32(HEAD_ROWS_KEY, [c.tokenRows.lmHead.ids.length, D], c.tokenRows.lmHead.rows);
  }
  if (c.fullRows) {
    f32(EMBED_FULL_KEY, [c.vocabSize, D], c.fullRows.embed);
    f32(HEAD_FULL_KEY, [c.vocabSize, D], c.fullRows.lmHead);
  }
  return out;
}

/** Writes a complete adapter folder at `dir` (replacing one tokenpipe wrote there; anything else is refused). */
export async function saveAdapter(dir: string, c: AdapterContents, extras: AdapterExtras = {}): Promise<void> {
  const tmp = tempPath(dir);
  await mkdir(tmp, { recursive: true });
  try {
    await writeAdapterFiles(tmp, c, extras);
    await replaceDir(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Writes the adapter's files into an existing (temporary) folder; each file is itself atomic. */
export async function writeAdapterFiles(dir: string, c: AdapterContents, extras: AdapterExtras = {}): Promise<void> {
  if (c.tokenRows && c.fullRows) throw new AdapterFormatError(dir, 'token rows and full rows are exclusive');
  // The folder is written as a sibling of its final name, so a relative path is the same from both.
  const absBase = existsSync(c.baseModelNameOrPath) ? path.resolve(c.baseModelNameOrPath) : undefined;
  const portable = { ...c, baseModelNameOrPath: portableBaseModel(c.baseModelNameOrPath, dir) };
  const provenance: Provenance = { ...(absBase ? { baseModelPath: absBase } : {}), ...extras.provenance };
  await writeSafetensors(path.join(dir, 'adapter_model.safetensors'), adapterTensors(c), { format: 'pt' });
  const text = (name: string, s: string) => writeFileAtomic(path.join(dir, name), s);
  await text('adapter_config.json', sortedJson(peftConfigJson(portable), 2) + '\n');
  if (extras.tokenizer) {
    await text('tokenizer.json', JSON.stringify(extras.tokenizer.tokenizerJson, null, 2) + '\n');
    await text('tokenizer_config.json', sortedJson(extras.tokenizer.tokenizerConfig, 2) + '\n');
  }
  const info: PeftFolderInfo = {
    format: 'tokenpipe-adapter/1', mode: c.mode, hiddenSize: c.hiddenSize, vocabSize: c.vocabSize,
    baseVocabSize: c.baseVocabSize, tieWordEmbeddings: c.tieWordEmbeddings, newTokens: c.newTokens,
    newTokenIds: c.newTokenIds, provenance,
  };
  await text('tokenpipe.json', sortedJson(info, 2) + '\n');
  await text('README.md', adapterReadme(portable, provenance));
}

export interface LoadedAdapter {
  dir: string;
  config: Record<string, unknown>;
  loraConfig: LoraConfig;
  lora: Map<string, PeftLoraWeights>;
  hiddenSize: number;
  tokenRows?: { embed?: TokenRows; lmHead?: TokenRows };
  fullRows?: { embed: Float32Array; lmHead?: Float32Array; vocabSize: number };
  /** tokenpipe.json, when the adapter was written by tokenpipe. */
  info?: PeftFolderInfo;
  tokenizer?: { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> };
}

/** Reads an adapter folder back, checking every key, dtype and shape against the config. */
export async function loadAdapter(dir: string): Promise<LoadedAdapter> {
  const cfgFile = path.join(dir, 'adapter_config.json');
  const stFile = path.join(dir, 'adapter_model.safetensors');
  for (const f of [cfgFile, stFile]) if (!existsSync(f)) throw new AdapterFormatError(dir, `${path.basename(f)} is missing`);
  const json = await readJson(dir, cfgFile);
  const { loraConfig, embedIds, headIds, fullModules } = parsePeftConfig(dir, json);
  const file = await SafetensorsFile.open(stFile);
  try {
    const lora = new Map<string, { A?: Float32Array; B?: Float32Array; inF: number; outF: number }>();
    const out: LoadedAdapter = { dir, config: json, loraConfig, lora: new Map(), hiddenSize: 0 };
    let D = 0;
    const setD = (name: string, d: number) => {
      if (D !== 0 && d !== D) throw new AdapterFormatError(dir, `${name}: hidden size ${d}, but other tensors say ${D}`);
      D = d;
    };
    for (const t of file.tensors()) {
      if (t.dtype !== 'F32' && t.dtype !== 'BF16' && t.dtype !== 'F16') {
        throw new AdapterFormatError(dir, `${t.name}: dtype ${t.dtype}, expected a float type`);
      }
      if (t.shape.length !== 2) throw new AdapterFormatError(dir, `${t.name}: shape [${t.shape}], expected 2 dimensions`);
      const data = await file.readF32(t.name);
      const m = LORA_KEY.exec(t.name);
      if (m) {
        const [, module, which] = m;
        const short = module.split('.').pop()!;
        if (!targetModuleNames(loraConfig).includes(short as never)) {
          throw new AdapterFormatError(dir, `${t.name}: module "${short}" is not in target_modules`);
        }
        const entry = lora.get(module) ?? { inF: 0, outF: 0 };
        const [rows, cols] = t.shape;
        if (which === 'A') {
          if (rows !== loraConfig.r) throw new AdapterFormatError(dir, `${t.name}: shape [${t.shape}], expected [r=${loraConfig.r}, in]`);
          Object.assign(entry, { A: data, inF: cols });
        } else {
          if (cols !== loraConfig.r) throw new AdapterFormatError(dir, `${t.name}: shape [${t.shape}], expected [out, r=${loraConfig.r}]`);
          Object.assign(entry, { B: data, outF: rows });
        }
        lora.set(module, entry);
      } else if (t.name === EMBED_ROWS_KEY || t.name === HEAD_ROWS_KEY) {
        const ids = t.name === EMBED_ROWS_KEY ? embedIds : headIds;
        const which = t.name === EMBED_ROWS_KEY ? 'embed_tokens' : 'lm_head';
        if (!ids) throw new AdapterFormatError(dir, `${t.name} is present but trainable_token_indices has no "${which}" entry`);
        if (t.shape[0] !== ids.length) throw new AdapterFormatError(dir, `${t.name}: ${t.shape[0]} rows for ${ids.length} indices of "${which}"`);
        setD(t.name, t.shape[1]);
        out.tokenRows ??= {};
        out.tokenRows[t.name === EMBED_ROWS_KEY ? 'embed' : 'lmHead'] = { ids, rows: data };
      } else if ((t.name === EMBED_FULL_KEY || t.name === HEAD_FULL_KEY) && fullModules.length > 0) {
        setD(t.name, t.shape[1]);
        if (out.fullRows && out.fullRows.vocabSize !== t.shape[0]) throw new AdapterFormatError(dir, `${t.name}: ${t.shape[0]} rows, other matrix has ${out.fullRows.vocabSize}`);
        out.fullRows ??= { embed: new Float32Array(0), vocabSize: t.shape[0] };
        if (t.name === EMBED_FULL_KEY) out.fullRows.embed = data;
        else out.fullRows.lmHead = data;
      } else {
        throw new AdapterFormatError(dir, `unexpected tensor "${t.name}"`);
      }
    }
    for (const [module, e] of lora) {
      if (!e.A || !e.B) throw new AdapterFormatError(dir, `${PREFIX}${module}: lora_${e.A ? 'B' : 'A'}.weight is missing`);
      out.lora.set(module, { A: e.A, B: e.B, inF: e.inF, outF: e.outF });
    }
    if (embedIds && !out.tokenRows?.embed) throw new AdapterFormatError(dir, `${EMBED_ROWS_KEY} is missing (trainable_token_indices names embed_tokens)`);
    if (headIds && !out.tokenRows?.lmHead) throw new AdapterFormatError(dir, `${HEAD_ROWS_KEY} is missing (trainable_token_indices names lm_head)`);
    if (fullModules.includes('embed_tokens') && !out.fullRows?.embed.length) throw new AdapterFormatError(dir, `${EMBED_FULL_KEY} is missing (modules_to_save names embed_tokens)`);
    out.hiddenSize = D;
    if (existsSync(path.join(dir, 'tokenpipe.json'))) out.info = (await readJson(dir, path.join(dir, 'tokenpipe.json'))) as unknown as PeftFolderInfo;
    if (existsSync(path.join(dir, 'tokenizer.json'))) {
      const cfgPath = path.join(dir, 'tokenizer_config.json');
      out.tokenizer = {
        tokenizerJson: await readJson(dir, path.join(dir, 'tokenizer.json')),
        tokenizerConfig: existsSync(cfgPath) ? await readJson(dir, cfgPath) : {},
      };
    }
    return out;
  } finally {
    await file.close();
  }
}

async function readJson(dir: string, file: string): Promise<Record<string, unknown>> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8'));
    // internal: caught just below and rethrown as AdapterFormatError naming the file.
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('top level is not an object');
    return v;
  } catch (e) {
    throw new AdapterFormatError(dir, `${path.basename(file)}: ${(e as Error).message}`, { cause: e });
  }
}
