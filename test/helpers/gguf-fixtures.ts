// Adapters with new tokens on the fixture models, for the GGUF export tests: the tokenizer extended
// with ChatML markers (special) and drug names (merge mode: BPE entries with their merges; added
// mode: user-defined tokens), a ChatML chat template, seeded random LoRA on every linear layer and
// random rows for the new tokens, saved as tokenpipe saves a trained adapter.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fillNormal, tensorPlan } from '../../tools/random-model.ts';
import { writeShardedSafetensors } from '../../src/io/safetensors.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { saveAdapter } from '../../src/adapter/peft.ts';
import { WeightSet } from '../../src/io/safetensors.ts';
import { loadModelConfig } from '../../src/model/config.ts';
import { loadTokenizer } from '../../src/tokenizer/load.ts';
import { extendTokenizer } from '../../src/tokenizer/extend.ts';
import type { PeftLoraWeights } from '../../src/model/lora.ts';

export const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
export const NEW_WORDS = ['acetaminophen', 'ibuprofen', 'omeprazole', 'amoxicillin'];
export const NEW_SPECIALS = ['<|im_start|>', '<|im_end|>'];
/** A text full of the new tokens, with spacing, newlines, digits and punctuation around them. */
export const NEW_TOKEN_TEXT =
  '<|im_start|>user\nIs acetaminophen safer than ibuprofen?<|im_end|>\n<|im_start|>assistant\n' +
  'Acetaminophen and ibuprofen differ:  take omeprazole,then amoxicillin (500 mg, 3x daily).\n\n' +
  'acetaminophen/ibuprofen ibuprofen.  <|im_end|>\nomeprazole';

/** Seeded normal(0, std) values (mulberry32 + Box-Muller). */
export function normals(n: number, seed: number, std: number): Float32Array {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Float32Array.from({ length: n }, () => std * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()));
}

const LINEAR = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'];

/** Writes `outDir` (an adapter on `modelDir`); returns the new tokens' ids. */
export async function writeFixtureAdapter(modelDir: string, outDir: string, mode: 'merge' | 'added', seed = 7): Promise<number[]> {
  const cfg = loadModelConfig(modelDir);
  const base = loadTokenizer(modelDir);
  const { artifact } = extendTokenizer(base, [
    ...NEW_SPECIALS.map((content) => ({ content, special: true, origin: 'list' as const })),
    ...NEW_WORDS.map((content) => ({ content, special: false, origin: 'list' as const })),
  ], { mode });
  const tokenizerConfig = { ...artifact.tokenizerConfig, chat_template: CHATML };
  const ids = artifact.newTokenIds;
  const V = Math.max(cfg.vocabSize, ...ids.map((i) => i + 1));
  const H = cfg.hiddenSize;
  // New rows about as large as the base's: the rms of the embedding.
  const ws = await WeightSet.open(modelDir);
  const E = await ws.readF32(ws.has('model.embed_tokens.weight') ? 'model.embed_tokens.weight' : 'embed_tokens.weight');
  const shapes = new Map(ws.names().map((n) => [n, ws.info(n).shape]));
  await ws.close();
  const rms = Math.sqrt(E.reduce((s, x) => s + x * x, 0) / E.length);
  const r = 4;
  const lora = new Map<string, PeftLoraWeights>();
  for (let l = 0; l < cfg.numLayers; l++) {
    LINEAR.forEach((m, k) => {
      const [outF, inF] = shapes.get(`model.layers.${l}.${m}.weight`)!;
      const s = seed * 1000 + l * 10 + k;
      lora.set(`model.layers.${l}.${m}`, { A: normals(r * inF, s, 1 / Math.sqrt(inF)), B: normals(outF * r, s + 500, 0.05), inF, outF });
    });
  }
  await saveAdapter(outDir, {
    lora,
    loraConfig: { r, alpha: 8, dropout: 0, rslora: false, targetModules: 'all-linear' },
    mode: 'trainable-tokens',
    hiddenSize: H,
    vocabSize: V,
    baseVocabSize: cfg.vocabSize,
    tieWordEmbeddings: cfg.tieWordEmbeddings,
    baseModelNameOrPath: path.resolve(modelDir),
    tokenRows: {
      embed: { ids, rows: normals(ids.length * H, seed + 1, rms) },
      ...(cfg.tieWordEmbeddings ? {} : { lmHead: { ids, rows: normals(ids.length * H, seed + 2, rms) } }),
    },
    newTokens: artifact.newTokens,
    newTokenIds: ids,
  }, { tokenizer: { tokenizerJson: artifact.tokenizerJson, tokenizerConfig } });
  return ids;
}

/**
 * A fixture architecture that has no tokenizer of its own (llama-headdim-bias: attention and MLP
 * biases, head_dim ≠ hidden/heads, linear RoPE; mistral: 4 q heads on 1 kv head, sliding window)
 * with the tokenizer of another fixture and seeded random weights of that vocabulary size
 * (std 0.2, so next-token distributions are far from flat and greedy choices are clear).
 */
export async function writeArchWithTokenizer(arch: string, tokenizerFrom: string, outDir: string, seed = 3): Promise<string> {
  const root = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'models');
  const tokCfg = JSON.parse(readFileSync(path.join(root, tokenizerFrom, 'config.json'), 'utf8'));
  const json = {
    ...JSON.parse(readFileSync(path.join(root, arch, 'config.json'), 'utf8')),
    vocab_size: tokCfg.vocab_size, bos_token_id: tokCfg.bos_token_id, eos_token_id: tokCfg.eos_token_id,
  };
  const c = parseModelConfig(json, `${outDir}/config.json`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'config.json'), JSON.stringify(json, null, 2));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(root, tokenizerFrom, f), path.join(outDir, f));
  const tensors = tensorPlan(c).map(({ name, shape, init }, k) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (init === 'ones') data.fill(1);
    else fillNormal(data, seed * 7919 + k, init === 'bias' ? 0.1 : 0.2);
    return { name, shape, dtype: 'F32' as const, data };
  });
  await writeShardedSafetensors(outDir, tensors, { maxShardBytes: 5e9, metadata: { format: 'pt' } });
  return outDir;
}
