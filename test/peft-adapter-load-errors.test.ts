// loadAdapter refuses malformed adapter folders with an error naming the file, key or field,
// including the mistakes PEFT itself only warns about or silently ignores (peft-observed.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadAdapter } from '../src/adapter/peft.ts';
import { writeSafetensors } from '../src/io/safetensors.ts';
import { AdapterFormatError } from '../src/errors.ts';

const P = 'base_model.model.model.layers.0.self_attn.q_proj';
const baseCfg = { peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 4, target_modules: ['q_proj'], trainable_token_indices: { embed_tokens: [10, 11] } };
const t = (name: string, shape: number[]) => ({ name, dtype: 'F32' as const, shape, data: new Float32Array(shape[0] * shape[1]) });
const good = () => [t(`${P}.lora_A.weight`, [2, 8]), t(`${P}.lora_B.weight`, [8, 2]), t('base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta', [2, 8])];

async function folder(cfg: object | null, tensors: ReturnType<typeof good>): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-bad-'));
  if (cfg) writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify(cfg));
  await writeSafetensors(path.join(dir, 'adapter_model.safetensors'), tensors, { format: 'pt' });
  return dir;
}

test('a minimal hand-written config with correct tensors loads', async () => {
  const a = await loadAdapter(await folder(baseCfg, good()));
  assert.equal(a.lora.size, 1);
  assert.deepEqual(a.tokenRows!.embed!.ids, [10, 11]);
});

test('token rows without ".token_adapter." are refused (PEFT raises KeyError at load)', async () => {
  const bad = good();
  bad[2] = t('base_model.model.model.embed_tokens.trainable_tokens_delta', [2, 8]);
  await assert.rejects(loadAdapter(await folder(baseCfg, bad)), /unexpected tensor "base_model\.model\.model\.embed_tokens\.trainable_tokens_delta"/);
});

test('a missing lora_B is an error (PEFT only warns)', async () => {
  await assert.rejects(loadAdapter(await folder(baseCfg, [good()[0], good()[2]])), /q_proj: lora_B\.weight is missing/);
});

test('shape problems name the tensor', async () => {
  await assert.rejects(loadAdapter(await folder(baseCfg, [t(`${P}.lora_A.weight`, [3, 8]), ...good().slice(1)])), /lora_A\.weight: shape \[3,8\], expected \[r=2, in\]/);
  const rows = good();
  rows[2] = t('base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta', [3, 8]);
  await assert.rejects(loadAdapter(await folder(baseCfg, rows)), /3 rows for 2 indices of "embed_tokens"/);
});

test('config problems name the field', async () => {
  await assert.rejects(loadAdapter(await folder({ ...baseCfg, use_dora: true }, good())), (e: unknown) => e instanceof AdapterFormatError && /field "use_dora"/.test((e as Error).message));
  await assert.rejects(loadAdapter(await folder({ ...baseCfg, target_modules: '.*proj' }, good())), /target_modules is the regex/);
  await assert.rejects(loadAdapter(await folder({ ...baseCfg, trainable_token_indices: null }, good())), /trainable_token_indices has no "embed_tokens" entry/);
  await assert.rejects(loadAdapter(await folder(null, good())), /adapter_config\.json is missing/);
});
