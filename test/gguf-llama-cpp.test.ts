// pipe export --format gguf, checked by llama.cpp itself (node-llama-cpp 3.21.1, CPU, from
// .cache/llama): on adapters with new tokens over the fixture model of each family (Llama 2-style
// SentencePiece vocabulary, untied; Llama 3 tokenizer with llama3 RoPE scaling, tied, bf16; Qwen2
// biases and padded vocabulary; Qwen3 q/k norms and head_dim, f16; Llama with attention and MLP
// biases, head_dim != hidden/heads and linear RoPE; Mistral with 4 q heads on 1 kv head), in merge and
// added mode, on Llama 2's full 32000-piece vocabulary, and on a quickstart adapter from a short real run:
//   (a) llama.cpp tokenizes a text full of the new tokens to tokenpipe's ids;
//   (b) greedy generation of 32 tokens from a chat prompt (the adapter's ChatML template) equals
//       tokenpipe's generate (what `pipe generate` runs) on the f32 export, id for id; for the
//       quickstart adapter `pipe generate --chat` itself prints the text of llama.cpp's reply;
//   (c) llama.cpp's log-likelihood of an eval text is within 1e-3 relative of tokenpipe's eval
//       (`pipe eval`'s windows) for f32, within 1 % for q8_0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../src/cli.ts';
import { ensureRandomModel } from '../tools/random-model.ts';
import { loadForCli } from '../src/cli/model-options.ts';
import { renderChatPrompt } from '../src/cli/chat-prompt.ts';
import { evalWindows, evaluateText } from '../src/model/eval.ts';
import { generate } from '../src/model/generate.ts';
import { disposeModel } from '../src/model/weights.ts';
import { getLlamaCpp, llamaGreedy, llamaContext, llamaLogProbs, llamaTokenize } from './helpers/llama-cpp.ts';
import { NEW_TOKEN_TEXT, writeArchWithTokenizer, writeFixtureAdapter } from './helpers/gguf-fixtures.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(path.join(tmpdir(), 'tp-gguf-llama-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const EVAL_TEXT = readFileSync(path.join(ROOT, 'fixtures', 'corpora', 'pharma-eval.txt'), 'utf8').slice(0, 700);
const MESSAGES = [{ role: 'user', content: 'What is the usual adult dose of ibuprofen? Is acetaminophen safer?' }];

function cli() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), isTTY: false }, out, err };
}

async function exportTo(adapter: string, dtype: string): Promise<string> {
  const file = path.join(tmp, `${path.basename(adapter)}-${dtype}.gguf`);
  const c = cli();
  assert.equal(await main(['export', '--adapter', adapter, '--format', 'gguf', '--out', file, '--dtype', dtype], c.io), 0, c.err.join('\n'));
  return file;
}

/** tokenpipe's side: ids of the test text, greedy reply, eval loss over `pipe eval`'s windows. */
async function tokenpipeSide(adapter: string, maxLen: number) {
  // The TF.js side (generate, evaluateText) on wasm: auto would pick the native engine, whose weights are not on TF.js.
  const { model, tokenizer } = await loadForCli({ adapter, backend: 'wasm' });
  try {
    const textIds = Array.from(tokenizer.encode(NEW_TOKEN_TEXT));
    const promptIds = Array.from(tokenizer.encode(renderChatPrompt(MESSAGES, tokenizer), { addSpecialTokens: false }));
    const eos = [...model.config.eosTokenIds, tokenizer.tokenToId('<|im_end|>')!];
    const reply = generate(model, promptIds, { maxNewTokens: 32, eosTokenIds: eos });
    const ev = evaluateText(model, tokenizer, EVAL_TEXT, { maxLen });
    return { textIds, promptIds, eos, reply, loss: ev.loss, evalIds: Array.from(ev.ids) };
  } finally {
    disposeModel(model);
  }
}

/** Mean next-token loss llama.cpp gives `ids`, over the same windows as tokenpipe's eval. */
async function llamaLoss(model: Awaited<ReturnType<Awaited<ReturnType<typeof getLlamaCpp>>['loadModel']>>, ids: number[], maxLen: number): Promise<number> {
  let nats = 0, n = 0;
  for (const [s, e] of evalWindows(ids.length, maxLen)) {
    const ctx = await llamaContext(model, Math.max(64, e - s));
    const lp = await llamaLogProbs(ctx, ids.slice(s, e));
    await ctx.dispose();
    for (const x of lp) (nats -= x), n++;
  }
  return nats / n;
}

/** Checks (a)-(c); returns llama.cpp's greedy reply as text (special tokens left out). */
async function checkAdapter(adapter: string, maxLen: number, lossy: string[] = ['q8_0']): Promise<string> {
  const want = await tokenpipeSide(adapter, maxLen);
  const llama = await getLlamaCpp();
  const f32 = await llama.loadModel({ modelPath: await exportTo(adapter, 'f32') });
  let replyText = '';
  try {
    // (a) tokenization as llama_tokenize(add_special, parse_special) does it
    assert.deepEqual(llamaTokenize(f32, NEW_TOKEN_TEXT), want.textIds, 'tokenization of the new-token text');
    assert.deepEqual(llamaTokenize(f32, EVAL_TEXT), want.evalIds, 'tokenization of the eval text');
    // (b) greedy reply
    const ctx = await llamaContext(f32, want.promptIds.length + 64);
    const reply = await llamaGreedy(ctx, want.promptIds, 32, new Set(want.eos));
    await ctx.dispose();
    assert.deepEqual(reply, want.reply, 'greedy reply');
    replyText = f32.detokenize(reply.filter((id) => !want.eos.includes(id)), false);
    // (c) log-likelihood
    const loss = await llamaLoss(f32, want.evalIds, maxLen);
    assert.ok(Math.abs(loss - want.loss) <= 1e-3 * want.loss, `f32 loss ${loss} vs tokenpipe ${want.loss}`);
  } finally {
    await f32.dispose();
  }
  for (const dtype of lossy) {
    const m = await llama.loadModel({ modelPath: await exportTo(adapter, dtype) });
    try {
      const loss = await llamaLoss(m, want.evalIds, maxLen);
      assert.ok(Math.abs(loss - want.loss) <= 0.01 * want.loss, `${dtype} loss ${loss} vs tokenpipe ${want.loss}`);
    } finally {
      await m.dispose();
    }
  }
  return replyText;
}

const FAMILIES = [
  ['llama', 'merge'],
  ['llama3-tied', 'merge'], ['llama3-tied', 'added'],
  ['qwen2', 'merge'], ['qwen3', 'added'],
] as const;

for (const [arch, tokenizerFrom, mode] of [['llama-headdim-bias', 'llama', 'merge'], ['mistral', 'llama3-tied', 'added']] as const) {
  test(`${arch} weights with the ${tokenizerFrom} tokenizer (${mode} mode): llama.cpp tokenizes, generates and scores like tokenpipe`, async () => {
    const model = await writeArchWithTokenizer(arch, tokenizerFrom, path.join(tmp, `${arch}-model`));
    const adapter = path.join(tmp, `${arch}-${mode}`);
    await writeFixtureAdapter(model, adapter, mode);
    await checkAdapter(adapter, 128);
  });
}

// Full-size real vocabularies on tiny random weights (initializer_range 0.2 rather than HF's 0.02:
// next-token distributions far from flat, so greedy choices are clear).
// (Qwen2.5's 151936 ids passed too, but took 64 s here: llama.cpp hands over a probability map of the whole
// vocabulary per position; its tokenization is checked in gguf-real-vocab-llama-cpp.test.ts.)
for (const [shape, mode, what] of [['reference', 'merge', "Llama 2's 32000-piece"]] as const) {
  test(`${what} vocabulary (random tiny weights, ${mode} mode): llama.cpp tokenizes, generates and scores like tokenpipe`, async () => {
    const tiny = { hidden_size: 64, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 32, initializer_range: 0.2 };
    const { dir } = await ensureRandomModel(shape, { overrides: tiny, root: path.join(ROOT, '.cache', 'models-tiny-gguf-wide') }); // not the real-vocab test's folder: files run in parallel
    const adapter = path.join(tmp, `${shape}-${mode}`);
    await writeFixtureAdapter(dir, adapter, mode);
    await checkAdapter(adapter, 128);
  });
}

for (const [family, mode] of FAMILIES) {
  test(`${family} (${mode} mode): llama.cpp tokenizes, generates and scores like tokenpipe`, async () => {
    const adapter = path.join(tmp, `${family}-${mode}`);
    await writeFixtureAdapter(path.join(ROOT, 'fixtures', 'models', family), adapter, mode);
    await checkAdapter(adapter, 128);
  });
}

test('quickstart adapter (a few real updates): llama.cpp tokenizes, generates and scores like tokenpipe, f32, and q8_0 / f16 / bf16 within 1 %', async () => {
  const out = path.join(tmp, 'qs');
  const r = spawnSync(process.execPath, [
    path.join(ROOT, 'bin', 'pipe.mjs'), 'run', path.join(ROOT, 'pipelines', 'quickstart.yaml'),
    '--set', `settings.outputDir=${out}`, '--set', 'corpus.limit=200', '--set', 'train.steps=3',
    '--set', 'train.schedule={kind: constant}', '--set', 'evaluate.every=3', '--set', 'checkpoints.every=3',
  ], { encoding: 'utf8', cwd: tmpdir() });
  assert.equal(r.status, 0, r.stderr);
  const adapter = path.join(out, readdirSync(out).find((d) => d.startsWith('quickstart-'))!, 'adapter');
  const replyText = await checkAdapter(adapter, 128);
  // The reply `pipe generate --chat` prints is the text llama.cpp's reply spells.
  const g = cli();
  const io = { ...g.io, write: (t: string) => void g.out.push(t) };
  assert.equal(await main(['generate', '--adapter', adapter, '--chat', '--user', MESSAGES[0].content, '--max-new-tokens', '32'], io), 0, g.err.join('\n'));
  assert.equal(g.out.join('').trim(), replyText.trim());
});
