// The GGUF tokenizer on full-size real vocabularies, checked by llama.cpp (node-llama-cpp, from
// .cache/llama): random-weight models of real shapes' tokenizers (tools/random-model.ts, tiny
// dimensions) with new tokens, exported and tokenized by llama.cpp, give tokenpipe's ids on 20k
// characters of text plus the new-token text and non-Latin scripts:
// - Llama 2's 32000-piece SentencePiece-style vocabulary (scores from merge ranks), merge mode;
// - Qwen2.5's 151643-piece byte-level vocabulary (qwen2 pre-tokenizer), added mode;
// - and the SmolLM pre-tokenizer (single digits, then the GPT-2 regex) on the quickstart's base.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gguf } from '@huggingface/gguf';
import { ensureRandomModel } from '../tools/random-model.ts';
import { exportGguf } from '../src/adapter/gguf-export.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { readTokenizerFiles } from '../src/tokenizer/files.ts';
import { getLlamaCpp, llamaTokenize } from './helpers/llama-cpp.ts';
import { NEW_TOKEN_TEXT, writeFixtureAdapter } from './helpers/gguf-fixtures.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(path.join(tmpdir(), 'tp-gguf-real-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const TEXT = readFileSync(path.join(ROOT, 'fixtures', 'corpora', 'pharma-eval.txt'), 'utf8').slice(0, 20000) +
  NEW_TOKEN_TEXT + ' Ünïcödé café naïve 日本語のテスト 中文 한국어 1234567 3.14159 ... \t tabs\r\n  ';
const TINY = { hidden_size: 64, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 32 };

async function sameIds(tokDir: string, file: string): Promise<void> {
  const tok = loadTokenizer({ ...readTokenizerFiles(tokDir), source: tokDir });
  const model = await (await getLlamaCpp()).loadModel({ modelPath: file });
  try {
    const want = Array.from(tok.encode(TEXT));
    const got = llamaTokenize(model, TEXT);
    let i = 0;
    while (i < want.length && want[i] === got[i]) i++;
    assert.equal(i, Math.max(want.length, got.length), `first difference at token ${i}: tokenpipe ${want.slice(i, i + 4)} vs llama.cpp ${got.slice(i, i + 4)} near ${JSON.stringify(tok.decode(want.slice(Math.max(0, i - 3), i + 4)))}`);
  } finally {
    await model.dispose();
  }
}

for (const [shape, mode, vocab, kind] of [['reference', 'merge', 32000, 'llama/default'], ['qwen2.5-0.5b', 'added', 151936, 'gpt2/qwen2']] as const) {
  test(`${shape} (${vocab} ids), ${mode} mode: llama.cpp tokenizes like tokenpipe`, async () => {
    // Own cache folder: the benches keep full-size folders of these shapes in .cache/models.
    const { dir } = await ensureRandomModel(shape, { overrides: TINY, root: path.join(ROOT, '.cache', 'models-tiny-gguf') });
    const adapter = path.join(tmp, `${shape}-${mode}`);
    await writeFixtureAdapter(dir, adapter, mode);
    const file = path.join(tmp, `${shape}.gguf`);
    await exportGguf({ modelDir: dir, adapterDir: adapter, out: file, dtype: 'f16' });
    const md = (await gguf(file, { allowLocalFile: true })).metadata as Record<string, unknown>;
    assert.equal(`${md['tokenizer.ggml.model']}/${md['tokenizer.ggml.pre']}`, kind);
    assert.ok((md['tokenizer.ggml.tokens'] as string[]).length >= vocab);
    await sameIds(adapter, file);
  });
}

test('SmolLM pre-tokenizer (digits one by one, then GPT-2): type smollm, llama.cpp tokenizes like tokenpipe', async () => {
  const model = path.join(tmp, 'smollm-pre');
  cpSync(path.join(ROOT, 'fixtures', 'base'), model, { recursive: true });
  const tj = JSON.parse(readFileSync(path.join(model, 'tokenizer.json'), 'utf8'));
  tj.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, tj.pre_tokenizer] };
  writeFileSync(path.join(model, 'tokenizer.json'), JSON.stringify(tj));
  const file = path.join(tmp, 'smollm-pre.gguf');
  await exportGguf({ modelDir: model, adapterDir: null, out: file, dtype: 'f32' });
  assert.equal(((await gguf(file, { allowLocalFile: true })).metadata as Record<string, unknown>)['tokenizer.ggml.pre'], 'smollm');
  await sameIds(model, file);
});
