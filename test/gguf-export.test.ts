// pipe export --format gguf, read back with @huggingface/gguf: the architecture keys and tensor names
// llama.cpp reads (Qwen3 q/k norms and head_dim, a tied Llama 3 with llama3 rope_freqs, a SentencePiece
// Llama), the tokenizer (new special tokens as control tokens, added-mode words as user-defined tokens,
// merge-mode words as vocabulary with their merges or scores, padded ids unused, pre-tokenizer type,
// BOS/EOS, chat template), and the refusals: a pre-tokenizer llama.cpp has no type for, added-mode
// words on a SentencePiece vocabulary, an existing --out.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gguf } from '@huggingface/gguf';
import { main } from '../src/cli.ts';
import { GgufExportUnsupported } from '../src/errors.ts';
import { exportGguf } from '../src/adapter/gguf-export.ts';
import { loadModelConfig } from '../src/model/config.ts';
import { invFreq } from '../src/model/rope.ts';
import { CHATML, writeFixtureAdapter } from './helpers/gguf-fixtures.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(path.join(tmpdir(), 'tp-gguf-export-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const fixture = (m: string) => path.join(ROOT, 'fixtures', 'models', m);
const CONTROL = 3, USER_DEFINED = 4, NORMAL = 1, UNUSED = 5, BYTE = 6, UNKNOWN = 2;

function cli() {
  const err: string[] = [];
  return { io: { out: () => {}, err: (t: string) => void err.push(t), isTTY: false }, err };
}

async function exported(family: string, mode: 'merge' | 'added', dtype: string) {
  const adapter = path.join(tmp, `${family}-${mode}`);
  const ids = await writeFixtureAdapter(fixture(family), adapter, mode);
  const file = path.join(tmp, `${family}-${mode}-${dtype}.gguf`);
  const c = cli();
  assert.equal(await main(['export', '--adapter', adapter, '--format', 'gguf', '--out', file, '--dtype', dtype], c.io), 0, c.err.join('\n'));
  const r = await gguf(file, { allowLocalFile: true });
  const tokenizerJson = JSON.parse(readFileSync(path.join(adapter, 'tokenizer.json'), 'utf8'));
  return { ids, md: r.metadata as Record<string, any>, tensors: new Map(r.tensorInfos.map((t) => [t.name, { shape: t.shape.map(Number), dtype: t.dtype }])), tokenizerJson };
}

test('qwen3, added mode, f16: q/k norms, head_dim, untied head; control and user-defined tokens, padded ids', async () => {
  const { ids, md, tensors } = await exported('qwen3', 'added', 'f16');
  assert.equal(md['general.architecture'], 'qwen3');
  assert.equal(md['general.file_type'], 1);
  assert.equal(md['qwen3.attention.key_length'], 8);
  assert.equal(md['qwen3.attention.head_count'], 4);
  assert.equal(md['qwen3.attention.head_count_kv'], 2);
  assert.equal(md['qwen3.block_count'], 2);
  assert.equal(md['qwen3.rope.freq_base'], 1e6);
  assert.deepEqual(tensors.get('token_embd.weight'), { shape: [16, 2138], dtype: 1 });
  assert.deepEqual(tensors.get('output.weight'), { shape: [16, 2138], dtype: 1 });
  assert.deepEqual(tensors.get('blk.1.attn_q_norm.weight'), { shape: [8], dtype: 0 });
  assert.deepEqual(tensors.get('blk.0.attn_q.weight'), { shape: [16, 32], dtype: 1 });
  assert.equal(tensors.size, 1 + 1 + 1 + 2 * 11);
  const tokens: string[] = md['tokenizer.ggml.tokens'];
  const types: number[] = md['tokenizer.ggml.token_type'];
  assert.equal(tokens.length, 2138);
  assert.equal(md['tokenizer.ggml.model'], 'gpt2');
  assert.equal(md['tokenizer.ggml.pre'], 'qwen2');
  // Qwen's tokenizer has the ChatML markers already (special added tokens); the words are new.
  assert.deepEqual(['<|im_start|>', '<|im_end|>'].map((t) => types[tokens.indexOf(t)]), [CONTROL, CONTROL]);
  assert.deepEqual(ids.map((id) => [tokens[id], types[id]]), [
    ['acetaminophen', USER_DEFINED], ['ibuprofen', USER_DEFINED], ['omeprazole', USER_DEFINED], ['amoxicillin', USER_DEFINED],
  ]);
  assert.deepEqual([tokens[2137], types[2137]], ['[PAD2137]', UNUSED]);
  assert.equal(md['tokenizer.ggml.eos_token_id'], 2050);
  assert.equal(md['tokenizer.ggml.add_bos_token'], false);
  assert.equal(md['tokenizer.chat_template'], CHATML);
});

test('llama3-tied, merge mode, f32: no output matrix, llama3 rope_freqs, new words in the vocabulary, every merge', async () => {
  const { ids, md, tensors, tokenizerJson } = await exported('llama3-tied', 'merge', 'f32');
  assert.equal(md['general.architecture'], 'llama');
  assert.equal(md['tokenizer.ggml.pre'], 'llama-bpe');
  assert.equal(tensors.has('output.weight'), false);
  const c = loadModelConfig(fixture('llama3-tied'));
  assert.deepEqual(tensors.get('rope_freqs.weight'), { shape: [c.headDim / 2], dtype: 0 });
  const tokens: string[] = md['tokenizer.ggml.tokens'];
  const types: number[] = md['tokenizer.ggml.token_type'];
  const merges: string[] = md['tokenizer.ggml.merges'];
  assert.equal(merges.length, tokenizerJson.model.merges.length);
  for (const w of ['Ġacetaminophen', 'Ġibuprofen']) {
    const id = tokens.indexOf(w);
    // Llama 3 ignores merges for a word in the vocabulary: whole words may come without merges.
    assert.ok(ids.includes(id) && types[id] === NORMAL, w);
  }
  assert.equal(md['tokenizer.ggml.add_bos_token'], true);
  assert.equal(md['tokenizer.ggml.bos_token_id'], 2048);
  // rope_freqs: the divisor llama.cpp applies per frequency = unscaled / scaled inv_freq (1 in the high band, factor in the low).
  const file = path.join(tmp, 'llama3-tied-merge-f32.gguf');
  const r = await gguf(file, { allowLocalFile: true });
  const t = r.tensorInfos.find((x) => x.name === 'rope_freqs.weight')!;
  const off = Number(r.tensorDataOffset + t.offset);
  const got = new Float32Array(readFileSync(file).buffer.slice(off, off + 4 * (c.headDim / 2)));
  const plain = invFreq({ type: 'default', theta: c.rope.theta }, c.headDim);
  const scaled = invFreq(c.rope, c.headDim);
  assert.deepEqual(Array.from(got), Array.from(plain, (p, j) => Math.fround(p / scaled[j])));
  assert.equal(got[0], 1);
  assert.equal(got.at(-1), 32);
});

test('llama (SentencePiece-style), merge mode: model "llama", byte and unknown types, scores from merge ranks', async () => {
  const { ids, md, tokenizerJson } = await exported('llama', 'merge', 'f32');
  assert.equal(md['tokenizer.ggml.model'], 'llama');
  assert.equal(md['tokenizer.ggml.add_space_prefix'], true);
  assert.equal(md['tokenizer.ggml.add_bos_token'], true);
  assert.equal(md['tokenizer.ggml.unknown_token_id'], 0);
  const tokens: string[] = md['tokenizer.ggml.tokens'];
  const types: number[] = md['tokenizer.ggml.token_type'];
  const scores: number[] = md['tokenizer.ggml.scores'];
  assert.deepEqual([types[0], types[tokens.indexOf('<0x0A>')]], [UNKNOWN, BYTE]);
  const merges = (tokenizerJson.model.merges as Array<string | string[]>).map((m) => (Array.isArray(m) ? m.join('') : m.replace(' ', '')));
  const word = tokens.indexOf('▁acetaminophen');
  assert.ok(ids.includes(word));
  assert.equal(scores[word], -merges.indexOf('▁acetaminophen'));
  assert.ok(scores[word] < scores[tokens.indexOf(merges[0])]);
  assert.equal(md['tokenizer.ggml.merges'], undefined);
});

test('--model on a pipe merge folder gives the tensors --adapter gives (untied f32 fixture)', async () => {
  const adapter = path.join(tmp, 'llama-merge');
  await writeFixtureAdapter(fixture('llama'), adapter, 'merge');
  const merged = path.join(tmp, 'llama-merged');
  const c = cli();
  assert.equal(await main(['merge', '--adapter', adapter, '--out', merged], c.io), 0, c.err.join('\n'));
  const [a, b] = [path.join(tmp, 'via-adapter.gguf'), path.join(tmp, 'via-merged.gguf')];
  await exportGguf({ modelDir: fixture('llama'), adapterDir: adapter, out: a, dtype: 'f32', name: 'x' });
  await exportGguf({ modelDir: merged, adapterDir: null, out: b, dtype: 'f32', name: 'x' });
  const [ra, rb] = [await gguf(a, { allowLocalFile: true }), await gguf(b, { allowLocalFile: true })];
  assert.deepEqual(rb.tensorInfos, ra.tensorInfos);
  assert.deepEqual(rb.metadata, ra.metadata);
  const data = (f: string, off: bigint) => readFileSync(f).subarray(Number(off));
  assert.ok(data(b, rb.tensorDataOffset).equals(data(a, ra.tensorDataOffset)));
});

test('refused before writing: added-mode words on a SentencePiece vocabulary, a pre-tokenizer llama.cpp has no type for', async () => {
  const adapter = path.join(tmp, 'llama-added');
  await writeFixtureAdapter(fixture('llama'), adapter, 'added');
  const out = path.join(tmp, 'refused.gguf');
  await assert.rejects(exportGguf({ modelDir: fixture('llama'), adapterDir: adapter, out, dtype: 'f32' }),
    (e: unknown) => e instanceof GgufExportUnsupported && /llama-added\/tokenizer\.json.*"acetaminophen".*merge mode/.test(e.message));
  const model = path.join(tmp, 'odd-pre');
  cpSync(fixture('qwen2'), model, { recursive: true });
  const tj = JSON.parse(readFileSync(path.join(model, 'tokenizer.json'), 'utf8'));
  tj.pre_tokenizer.pretokenizers[0].pattern.Regex = '\\p{L}+|\\s+';
  writeFileSync(path.join(model, 'tokenizer.json'), JSON.stringify(tj));
  await assert.rejects(exportGguf({ modelDir: model, adapterDir: null, out, dtype: 'f32' }),
    (e: unknown) => e instanceof GgufExportUnsupported && /odd-pre\/tokenizer\.json.*Split regex.*none of llama\.cpp's/.test(e.message));
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('refused')), []);
});

test('pipe export: usage errors name the option; an existing --out needs --force', async () => {
  const out = path.join(tmp, 'base.gguf');
  const base = path.join(ROOT, 'fixtures', 'base');
  const run = async (...args: string[]) => { const c = cli(); return { code: await main(['export', ...args], c.io), err: c.err.join('\n') }; };
  assert.match((await run('--model', base, '--out', out)).err, /--format gguf/);
  assert.match((await run('--model', base, '--format', 'gguf', '--out', out, '--dtype', 'q4')).err, /--dtype must be one of f32, f16, bf16, q8_0/);
  assert.equal((await run('--model', base, '--format', 'gguf', '--out', out, '--dtype', 'q8_0')).code, 0);
  const again = await run('--model', base, '--format', 'gguf', '--out', out);
  assert.notEqual(again.code, 0);
  assert.match(again.err, /file exists.*--force/);
  assert.equal((await run('--model', base, '--format', 'gguf', '--out', out, '--force')).code, 0);
});
