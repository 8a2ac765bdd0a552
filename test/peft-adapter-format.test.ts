// The adapter folder matches what real PEFT 0.15.2 wrote for the same setup
// (docs/peft-observed.md): every key, dtype, shape, metadata entry and config field,
// read back from disk independently of the writer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { saveAdapter, loadAdapter, type AdapterContents } from '../src/adapter/peft.ts';
import { SafetensorsFile } from '../src/io/safetensors.ts';
import { LoraConfig } from '../src/model/lora.ts';

const D = 64;
const rowsOf = (n: number, seed: number) => Float32Array.from({ length: n * D }, (_, i) => Math.sin(seed + i));

function observedSetup(): AdapterContents {
  const lora = new Map();
  for (const l of [0, 1]) {
    for (const m of ['q_proj', 'v_proj']) {
      lora.set(`model.layers.${l}.self_attn.${m}`, { A: rowsOf(4, l), B: rowsOf(4, 10 + l), inF: 64, outF: 64 });
    }
  }
  return {
    lora,
    loraConfig: LoraConfig.parse({ r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'] }),
    mode: 'trainable-tokens', hiddenSize: D, vocabSize: 32003, baseVocabSize: 32000, tieWordEmbeddings: false,
    baseModelNameOrPath: 'fixtures/tiny-llama',
    tokenRows: {
      embed: { ids: [32000, 32001, 32002], rows: rowsOf(3, 100) },
      lmHead: { ids: [7, 32000, 32001, 32002], rows: rowsOf(4, 200) },
    },
    newTokens: ['<a>', '<b>', 'c|d'], newTokenIds: [32000, 32001, 32002],
  };
}

const tmp = () => mkdtempSync(path.join(tmpdir(), 'tp-peft-'));

test('keys, dtypes, shapes and metadata are those PEFT wrote', async () => {
  const root = tmp();
  const dir = path.join(root, 'adapter');
  await saveAdapter(dir, observedSetup(), { provenance: { step: 5, pipelineHash: 'abc', metrics: { eval_loss: 1.5 } } });
  const f = await SafetensorsFile.open(path.join(dir, 'adapter_model.safetensors'));
  const got = Object.fromEntries(f.tensors().map((t) => [t.name, `${t.dtype} [${t.shape.join(', ')}]`]));
  const want: Record<string, string> = {
    'base_model.model.lm_head.token_adapter.trainable_tokens_delta': 'F32 [4, 64]',
    'base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta': 'F32 [3, 64]',
  };
  for (const l of [0, 1]) {
    for (const m of ['q_proj', 'v_proj']) {
      want[`base_model.model.model.layers.${l}.self_attn.${m}.lora_A.weight`] = 'F32 [4, 64]';
      want[`base_model.model.model.layers.${l}.self_attn.${m}.lora_B.weight`] = 'F32 [64, 4]';
    }
  }
  assert.deepEqual(got, want);
  assert.deepEqual(f.metadata, { format: 'pt' });
  // Absolute rows in list order: row 0 of the head tensor is id 7's row.
  const head = await f.readF32('base_model.model.lm_head.token_adapter.trainable_tokens_delta');
  assert.deepEqual(head.subarray(0, D), rowsOf(4, 200).subarray(0, D));
  await f.close();
  assert.deepEqual(readdirSync(root), ['adapter'], 'no temp folders left behind');
  rmSync(root, { recursive: true });
});

test('adapter_config.json has every field PEFT wrote, sorted, indent 2', async () => {
  const dir = path.join(tmp(), 'a');
  await saveAdapter(dir, observedSetup());
  const text = readFileSync(path.join(dir, 'adapter_config.json'), 'utf8');
  const cfg = JSON.parse(text);
  // The observed config, with task_type set (then PEFT leaves auto_mapping null).
  const observed = {
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: 'fixtures/tiny-llama', bias: 'none',
    corda_config: null, eva_config: null, exclude_modules: null, fan_in_fan_out: false, inference_mode: true,
    init_lora_weights: true, layer_replication: null, layers_pattern: null, layers_to_transform: null, loftq_config: {},
    lora_alpha: 8, lora_bias: false, lora_dropout: 0.0, megatron_config: null, megatron_core: 'megatron.core',
    modules_to_save: null, peft_type: 'LORA', r: 4, rank_pattern: {}, revision: null, target_modules: ['q_proj', 'v_proj'],
    task_type: 'CAUSAL_LM',
    trainable_token_indices: { embed_tokens: [32000, 32001, 32002], lm_head: [7, 32000, 32001, 32002] },
    use_dora: false, use_rslora: false,
  };
  assert.deepEqual(cfg, observed);
  const keys = Object.keys(cfg);
  assert.deepEqual(keys, [...keys].sort());
  assert.ok(text.startsWith('{\n  "alpha_pattern": {},\n  "auto_mapping": null,\n'));
  const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
  assert.match(readme, /resize_token_embeddings\(32003\)/);
  assert.match(readme, /PeftModel\.from_pretrained\(base, adapter\)/);
  assert.match(readme, /\| 32002 \| `c\\\|d` \|/);
});

test('loadAdapter returns what was saved', async () => {
  const dir = path.join(tmp(), 'a');
  const c = observedSetup();
  await saveAdapter(dir, c, { tokenizer: { tokenizerJson: { model: { vocab: { a: 0 } } }, tokenizerConfig: { x: 1 } } });
  const a = await loadAdapter(dir);
  assert.equal(a.hiddenSize, D);
  assert.deepEqual(a.loraConfig, c.loraConfig);
  assert.deepEqual([...a.lora.keys()].sort(), [...c.lora.keys()].sort());
  const q = a.lora.get('model.layers.1.self_attn.q_proj')!;
  assert.deepEqual([q.inF, q.outF], [64, 64]);
  assert.deepEqual(q.B, c.lora.get('model.layers.1.self_attn.q_proj')!.B);
  assert.deepEqual(a.tokenRows!.lmHead!.ids, [7, 32000, 32001, 32002]);
  assert.deepEqual(a.tokenRows!.embed!.rows, c.tokenRows!.embed.rows);
  assert.equal(a.info!.vocabSize, 32003);
  assert.deepEqual(a.tokenizer!.tokenizerConfig, { x: 1 });
});

test('tied model: dict with embed_tokens only, no lm_head key; full mode: whole matrices as modules_to_save', async () => {
  const tied = { ...observedSetup(), tieWordEmbeddings: true };
  tied.tokenRows = { embed: tied.tokenRows!.embed };
  const d1 = path.join(tmp(), 'tied');
  await saveAdapter(d1, tied);
  const cfg = JSON.parse(readFileSync(path.join(d1, 'adapter_config.json'), 'utf8'));
  assert.deepEqual(cfg.trainable_token_indices, { embed_tokens: [32000, 32001, 32002] });
  const f1 = await SafetensorsFile.open(path.join(d1, 'adapter_model.safetensors'));
  assert.ok(!f1.names().some((n) => n.includes('lm_head')));
  await f1.close();

  const V = 40;
  const full: AdapterContents = { ...observedSetup(), mode: 'full', vocabSize: V, tokenRows: undefined, fullRows: { embed: rowsOf(V, 1), lmHead: rowsOf(V, 2) } };
  const d2 = path.join(tmp(), 'full');
  await saveAdapter(d2, full);
  const cfg2 = JSON.parse(readFileSync(path.join(d2, 'adapter_config.json'), 'utf8'));
  assert.deepEqual(cfg2.modules_to_save, ['embed_tokens', 'lm_head']);
  assert.equal(cfg2.trainable_token_indices, null);
  const f2 = await SafetensorsFile.open(path.join(d2, 'adapter_model.safetensors'));
  assert.equal(f2.info('base_model.model.model.embed_tokens.weight').shape.join(','), `${V},${D}`);
  assert.equal(f2.info('base_model.model.lm_head.weight').shape.join(','), `${V},${D}`);
  await f2.close();
  const back = await loadAdapter(d2);
  assert.equal(back.fullRows!.vocabSize, V);
  assert.deepEqual(back.fullRows!.lmHead, rowsOf(V, 2));
});

test('saving over an existing adapter replaces it whole', async () => {
  const root = tmp();
  const dir = path.join(root, 'a');
  await saveAdapter(dir, observedSetup());
  const next = observedSetup();
  next.tokenRows!.embed.rows = rowsOf(3, 999);
  await saveAdapter(dir, next);
  assert.deepEqual((await loadAdapter(dir)).tokenRows!.embed!.rows, rowsOf(3, 999));
  assert.deepEqual(readdirSync(root), ['a']);
});
