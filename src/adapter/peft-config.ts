// Reading adapter_config.json: the subset of PEFT's LoraConfig tokenpipe can honour, with an
// error naming the field for anything it cannot (DoRA, rank patterns, regex targets, ...).
import { z } from 'zod';
import { AdapterFormatError } from '../errors.ts';
import { LINEAR_MODULES, LoraConfig, type LinearModule } from '../model/lora.ts';
import type { EmbeddingMode } from '../model/modes.ts';
import type { Provenance } from './peft-readme.ts';

/** tokenpipe.json: what a tokenpipe adapter records beyond PEFT's files. */
export interface PeftFolderInfo {
  format: 'tokenpipe-adapter/1';
  mode: EmbeddingMode;
  hiddenSize: number;
  vocabSize: number;
  baseVocabSize: number;
  tieWordEmbeddings: boolean;
  newTokens: string[];
  newTokenIds: number[];
  provenance: Provenance;
}

const ids = z.array(z.number().int().min(0));
const Empty = z.union([z.null(), z.record(z.string(), z.never())]).optional();

const PeftLoraJson = z.looseObject({
  peft_type: z.literal('LORA'),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  lora_dropout: z.number().min(0).lt(1).default(0),
  use_rslora: z.boolean().default(false),
  use_dora: z.literal(false).optional(),
  lora_bias: z.literal(false).optional(),
  bias: z.literal('none').optional(),
  rank_pattern: Empty,
  alpha_pattern: Empty,
  target_modules: z.union([z.string(), z.array(z.string()).min(1)]),
  trainable_token_indices: z.union([z.null(), ids, z.record(z.string(), ids)]).optional(),
  modules_to_save: z.union([z.null(), z.array(z.string())]).optional(),
});

export interface ParsedPeftConfig {
  loraConfig: LoraConfig;
  embedIds?: number[];
  headIds?: number[];
  /** 'embed_tokens' and/or 'lm_head' when saved whole (modules_to_save). */
  fullModules: Array<'embed_tokens' | 'lm_head'>;
}

export function parsePeftConfig(dir: string, json: unknown): ParsedPeftConfig {
  const parsed = PeftLoraJson.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AdapterFormatError(dir, `adapter_config.json: field "${issue.path.join('.')}": ${issue.message}`);
  }
  const c = parsed.data;
  const loraConfig = LoraConfig.parse({
    r: c.r, alpha: c.lora_alpha, dropout: c.lora_dropout, rslora: c.use_rslora,
    targetModules: targetModules(dir, c.target_modules),
  });
  let embedIds: number[] | undefined;
  let headIds: number[] | undefined;
  const tti = c.trainable_token_indices;
  if (Array.isArray(tti)) embedIds = tti;
  else if (tti) {
    for (const [key, list] of Object.entries(tti)) {
      // PEFT matches these keys as module-name suffixes.
      if (key === 'embed_tokens' || key.endsWith('.embed_tokens')) embedIds = list;
      else if (key === 'lm_head' || key.endsWith('.lm_head')) headIds = list;
      else throw new AdapterFormatError(dir, `adapter_config.json: trainable_token_indices names "${key}"; only embed_tokens and lm_head are supported`);
    }
  }
  const fullModules: ParsedPeftConfig['fullModules'] = [];
  for (const m of c.modules_to_save ?? []) {
    const short = m.split('.').pop();
    if (short !== 'embed_tokens' && short !== 'lm_head') {
      throw new AdapterFormatError(dir, `adapter_config.json: modules_to_save names "${m}"; only embed_tokens and lm_head are supported`);
    }
    fullModules.push(short);
  }
  return { loraConfig, embedIds, headIds, fullModules };
}

function targetModules(dir: string, t: string | string[]): LoraConfig['targetModules'] {
  if (t === 'all-linear') return 'all-linear';
  if (typeof t === 'string') {
    throw new AdapterFormatError(dir, `adapter_config.json: target_modules is the regex "${t}"; only a list of module names is supported`);
  }
  const names = new Set<LinearModule>();
  for (const name of t) {
    const short = name.split('.').pop()!;
    if (!(LINEAR_MODULES as readonly string[]).includes(short)) {
      throw new AdapterFormatError(dir, `adapter_config.json: target_modules has "${name}"; supported: ${LINEAR_MODULES.join(', ')}`);
    }
    names.add(short as LinearModule);
  }
  return [...names];
}
