// Nothing tokenpipe did not write is ever moved or deleted (issue 21): writing an adapter (or a
// merged model) where a folder already is replaces that folder only when tokenpipe wrote it (its
// marker file) or it is empty. A user's folder with files, or a file, at the target is refused
// and kept byte for byte, whatever path led there; `pipe merge --force` replaces an earlier
// merge, never a folder the user named that holds their own files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { saveAdapter, type AdapterContents } from '../src/adapter/peft.ts';
import { LoraConfig } from '../src/model/lora.ts';
import { PIPE, ROOT } from './fixtures/train/tiny-pipeline.ts';

const MODEL = path.join(ROOT, 'fixtures', 'models', 'llama');
const D = 16;

/** A LoRA adapter for the fixture model (hidden 16, vocabulary 1370) with one new token row. */
function contents(): AdapterContents {
  const lora = new Map([[`model.layers.0.self_attn.q_proj`, { A: new Float32Array(2 * D).fill(0.01), B: new Float32Array(D * 2).fill(0.02), inF: D, outF: D }]]);
  return {
    lora, loraConfig: LoraConfig.parse({ r: 2, alpha: 4, targetModules: ['q_proj'] }),
    mode: 'trainable-tokens', hiddenSize: D, vocabSize: 1371, baseVocabSize: 1370, tieWordEmbeddings: false,
    baseModelNameOrPath: MODEL,
    tokenRows: { embed: { ids: [1370], rows: new Float32Array(D).fill(0.5) }, lmHead: { ids: [1370], rows: new Float32Array(D).fill(0.25) } },
    newTokens: ['<x>'], newTokenIds: [1370],
  };
}

/** A user's folder with files in it. */
function userFolder(root: string, name: string): string {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, 'sub'), { recursive: true });
  writeFileSync(path.join(dir, 'notes.txt'), 'mine\n');
  writeFileSync(path.join(dir, 'sub', 'data.bin'), 'bytes');
  return dir;
}

const intact = (dir: string) => {
  assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'sub']);
  assert.equal(readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'mine\n');
  assert.equal(readFileSync(path.join(dir, 'sub', 'data.bin'), 'utf8'), 'bytes');
};

test("an adapter is not written over a user's folder, nor over a file; the folder and file stay as they were", async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tp-owned-'));
  const user = userFolder(root, 'user');
  await assert.rejects(saveAdapter(user, contents()), (e: Error) => e.name === 'OutputNotOurs' && e.message.includes(user) && /tokenpipe did not write/.test(e.message));
  intact(user);
  const file = path.join(root, 'a-file');
  writeFileSync(file, 'keep');
  await assert.rejects(saveAdapter(file, contents()), /not a folder tokenpipe wrote/);
  assert.equal(readFileSync(file, 'utf8'), 'keep');
  // No temp folder is left beside them.
  assert.deepEqual(readdirSync(root).sort(), ['a-file', 'user']);
});

test('an adapter folder carries the marker that lets tokenpipe replace it: its own earlier folder, or an empty one', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tp-owned-'));
  const dir = path.join(root, 'adapter');
  await saveAdapter(dir, contents());
  assert.ok(existsSync(path.join(dir, '.tokenpipe-output')), 'the marker is written into the folder');
  writeFileSync(path.join(dir, 'stale.txt'), 'from the first write');
  await saveAdapter(dir, contents());
  assert.equal(existsSync(path.join(dir, 'stale.txt')), false, 'the earlier adapter folder was replaced whole');
  assert.ok(existsSync(path.join(dir, 'adapter_config.json')));
  const empty = path.join(root, 'empty');
  mkdirSync(empty);
  await saveAdapter(empty, contents());
  assert.ok(existsSync(path.join(empty, 'adapter_model.safetensors')));
  assert.deepEqual(readdirSync(root).sort(), ['adapter', 'empty']);
});

test("pipe merge --force replaces an earlier merge, never a user's folder with files", async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tp-owned-'));
  const adapter = path.join(root, 'adapter');
  await saveAdapter(adapter, contents());
  const merge = (out: string) => spawnSync(process.execPath, [PIPE, 'merge', '--model', MODEL, '--adapter', adapter, '--out', out, '--force'], { encoding: 'utf8', cwd: ROOT });
  const user = userFolder(root, 'models');
  const refused = merge(user);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /holds files tokenpipe did not write/);
  intact(user);
  const out = path.join(root, 'merged');
  assert.equal(merge(out).status, 0);
  const again = merge(out);
  assert.equal(again.status, 0, again.stderr);
  assert.ok(existsSync(path.join(out, 'config.json')));
});
