// fixtures/base is a complete, consistent HF Llama folder: config, safetensors header and tokenizer agree on
// names, shapes, dtype and special ids; the tied head is not stored; the folder stays small.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SafetensorsFile } from '../src/io/safetensors.ts';
import { loadModelConfig } from '../src/model/config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BASE = path.join(ROOT, 'fixtures', 'base');
const readJson = (f: string) => JSON.parse(readFileSync(path.join(BASE, f), 'utf8'));
const config = readJson('config.json');

/** The header read by hand (llama-family-spec.md §5), independent of src/io. */
function rawHeader(file: string): { n: number; size: number; json: Record<string, any>; text: string } {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const text = buf.subarray(8, 8 + n).toString('utf8');
  return { n, size: buf.length, json: JSON.parse(text), text };
}

/** Every tensor a tied LlamaForCausalLM saves, from the config alone (llama-family-spec.md §2). */
function expectedShapes(c: any): Map<string, number[]> {
  const H = c.hidden_size, I = c.intermediate_size, D = c.head_dim ?? H / c.num_attention_heads;
  const m = new Map<string, number[]>([['model.embed_tokens.weight', [c.vocab_size, H]], ['model.norm.weight', [H]]]);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    m.set(p + 'input_layernorm.weight', [H]);
    m.set(p + 'post_attention_layernorm.weight', [H]);
    m.set(p + 'self_attn.q_proj.weight', [c.num_attention_heads * D, H]);
    m.set(p + 'self_attn.k_proj.weight', [c.num_key_value_heads * D, H]);
    m.set(p + 'self_attn.v_proj.weight', [c.num_key_value_heads * D, H]);
    m.set(p + 'self_attn.o_proj.weight', [H, c.num_attention_heads * D]);
    m.set(p + 'mlp.gate_proj.weight', [I, H]);
    m.set(p + 'mlp.up_proj.weight', [I, H]);
    m.set(p + 'mlp.down_proj.weight', [H, I]);
  }
  return m;
}

test('config.json: tied float32 Llama of the recipe size, parsed by the project', () => {
  assert.equal(config.model_type, 'llama');
  assert.deepEqual(config.architectures, ['LlamaForCausalLM']);
  assert.equal(config.tie_word_embeddings, true);
  assert.equal(config.torch_dtype, 'float32');
  assert.ok(config.max_position_embeddings >= 256);
  const c = loadModelConfig(BASE);
  assert.deepEqual(
    [c.modelType, c.vocabSize, c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.intermediateSize, c.rmsNormEps],
    ['llama', 4096, 128, 4, 4, 2, 32, 384, 1e-5],
  );
  assert.equal(c.tieWordEmbeddings, true);
  assert.equal(c.qkvBias || c.oBias || c.mlpBias || c.qkNorm, false);
});

test('special ids agree across config, generation_config and the tokenizer', () => {
  const tok = readJson('tokenizer.json');
  const tcfg = readJson('tokenizer_config.json');
  const gen = readJson('generation_config.json');
  const idOf = (content: string) => tok.added_tokens.find((t: any) => t.content === content)?.id;
  assert.equal(config.bos_token_id, idOf(tcfg.bos_token));
  assert.equal(config.eos_token_id, idOf(tcfg.eos_token));
  assert.equal(gen.bos_token_id, config.bos_token_id);
  assert.equal(gen.eos_token_id, config.eos_token_id);
  const maxId = Math.max(...(Object.values(tok.model.vocab) as number[]), ...tok.added_tokens.map((t: any) => t.id));
  assert.equal(config.vocab_size, maxId + 1, 'embedding rows = tokenizer length');
});

test('model.safetensors header: F32 tensors of the expected names and shapes, no lm_head, sound layout', async () => {
  const file = path.join(BASE, 'model.safetensors');
  const { n, size, json, text } = rawHeader(file);
  assert.equal(n % 8, 0, 'header padded to a multiple of 8');
  assert.ok(text.startsWith('{') && /^[^ ]*\} *$/.test(text), 'compact JSON, right-padded with spaces');
  const { __metadata__: meta, ...tensors } = json;
  assert.deepEqual(meta, { format: 'pt' });
  const expected = expectedShapes(config);
  assert.deepEqual(Object.keys(tensors).sort(), [...expected.keys()].sort());
  assert.ok(!('lm_head.weight' in tensors), 'tied: the head is the embedding');
  let end = 0;
  for (const [name, e] of Object.entries(tensors as Record<string, any>).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])) {
    assert.equal(e.dtype, 'F32', name);
    assert.deepEqual(e.shape, expected.get(name), name);
    assert.equal(e.data_offsets[0], end, `${name} starts where the previous ends`);
    assert.equal(e.data_offsets[1] - e.data_offsets[0], 4 * e.shape.reduce((a: number, b: number) => a * b, 1), name);
    end = e.data_offsets[1];
  }
  assert.equal(8 + n + end, size, 'the data buffer covers the rest of the file exactly');

  const st = await SafetensorsFile.open(file);
  try {
    assert.deepEqual(st.names().sort(), [...expected.keys()].sort());
    const norm = await st.readF32('model.norm.weight');
    assert.ok(norm.every(Number.isFinite) && norm.some((x) => x !== 1), 'final norm weight was trained');
  } finally {
    await st.close();
  }
});

test('folder: the HF files plus RECIPE.md, well under 8 MB; the recipe records a trained eval loss', () => {
  const files = readdirSync(BASE).sort();
  assert.deepEqual(files, ['RECIPE.md', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  const total = files.reduce((s, f) => s + statSync(path.join(BASE, f)).size, 0);
  assert.ok(total < 8e6, `${total} bytes`);
  const recipe = readFileSync(path.join(BASE, 'RECIPE.md'), 'utf8');
  const m = recipe.match(/Final eval loss[^:]*: ([0-9.]+)/);
  assert.ok(m, 'RECIPE.md states the final eval loss');
  // Uniform guessing scores ln(4096) = 8.32; a model that learned English is far below.
  assert.ok(Number(m[1]) < Math.log(4096) - 2.5, `eval loss ${m[1]}`);
});
