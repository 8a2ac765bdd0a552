// adapter_config.json's base_model_name_or_path works on another machine: a repo id when the
// model's config names one, else the model folder relative to the adapter; the absolute path is
// only in the provenance. pipe eval and pipe merge find the base model from it without --model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { saveAdapter, type AdapterContents } from '../src/adapter/peft.ts';
import { portableBaseModel, resolveBaseModel } from '../src/adapter/base-model.ts';
import { LoraConfig } from '../src/model/lora.ts';
import { pipeHere, ROOT } from './fixtures/train/tiny-pipeline.ts';

const LLAMA = path.join(ROOT, 'fixtures', 'models', 'llama');

/** An adapter for the llama fixture that changes nothing (B = 0): its loss is the base's. */
function noopAdapter(base: string): AdapterContents {
  const D = 16;
  const lora = new Map([0, 1].map((l) => [`model.layers.${l}.self_attn.q_proj`, { A: new Float32Array(2 * D).fill(0.1), B: new Float32Array(D * 2), inF: D, outF: D }]));
  return {
    lora, loraConfig: LoraConfig.parse({ r: 2, alpha: 4, targetModules: ['q_proj'] }), mode: 'frozen', hiddenSize: D,
    vocabSize: 1370, baseVocabSize: 1370, tieWordEmbeddings: false, baseModelNameOrPath: base, newTokens: [], newTokenIds: [],
  };
}

const configOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));

test('a local model folder is written relative to the adapter; its absolute path goes to the provenance', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tp-base-'));
  const model = path.join(root, 'models', 'llama');
  cpSync(LLAMA, model, { recursive: true });
  const adapter = path.join(root, 'runs', 'r1', 'adapter');
  await saveAdapter(adapter, noopAdapter(model));
  assert.equal(configOf(adapter).base_model_name_or_path, '../../../models/llama');
  assert.equal(JSON.parse(readFileSync(path.join(adapter, 'tokenpipe.json'), 'utf8')).provenance.baseModelPath, model);
  assert.match(readFileSync(path.join(adapter, 'README.md'), 'utf8'), /from_pretrained\("\.\.\/\.\.\/\.\.\/models\/llama"\)/);

  // The whole folder moved elsewhere: the relative name still finds the model.
  const moved = mkdtempSync(path.join(tmpdir(), 'tp-moved-'));
  cpSync(root, moved, { recursive: true });
  const movedAdapter = path.join(moved, 'runs', 'r1', 'adapter');
  assert.equal(resolveBaseModel(movedAdapter, configOf(movedAdapter).base_model_name_or_path), path.join(moved, 'models', 'llama'));

  const text = path.join(moved, 'eval.txt');
  writeFileSync(text, 'the harbour town river sea storm pier boats market water\n'.repeat(4));
  const withModel = await pipeHere('eval', '--model', LLAMA, '--text', text, '--json', '--backend', 'cpu');
  const fromAdapter = await pipeHere('eval', '--adapter', movedAdapter, '--text', text, '--json', '--backend', 'cpu');
  assert.equal(fromAdapter.status, 0, fromAdapter.stderr);
  assert.equal(fromAdapter.stdout, withModel.stdout, 'B = 0: the adapter leaves the loss unchanged');

  const merged = path.join(moved, 'merged');
  const m = await pipeHere('merge', '--adapter', movedAdapter, '--out', merged);
  assert.equal(m.status, 0, m.stderr);
  assert.ok(existsSync(path.join(merged, 'config.json')));
});

test("a config's repo id, or a hub-cache folder's repo, is used instead of a path", () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tp-base-'));
  const named = path.join(root, 'named');
  mkdirSync(named);
  writeFileSync(path.join(named, 'config.json'), JSON.stringify({ _name_or_path: 'meta-llama/Llama-3.2-1B' }));
  assert.equal(portableBaseModel(named, path.join(root, 'adapter')), 'meta-llama/Llama-3.2-1B');

  // transformers also writes the folder it loaded from; that is not a repo id.
  const local = path.join(root, 'local');
  mkdirSync(local);
  writeFileSync(path.join(local, 'config.json'), JSON.stringify({ _name_or_path: '/home/me/models/x' }));
  assert.equal(portableBaseModel(local, path.join(root, 'adapter')), '../local');

  const snap = path.join(root, 'hub', 'models--Qwen--Qwen3-0.6B', 'snapshots', 'abc123');
  mkdirSync(snap, { recursive: true });
  writeFileSync(path.join(snap, 'config.json'), '{}');
  assert.equal(portableBaseModel(snap, path.join(root, 'adapter')), 'Qwen/Qwen3-0.6B');
});

test('a repo id that is not a folder here asks for --model', () => {
  assert.throws(() => resolveBaseModel('/tmp/some-adapter', 'meta-llama/Llama-3.2-1B'), /base_model_name_or_path is "meta-llama\/Llama-3.2-1B", not a folder .*pass --model DIR/);
});
