// The README's main command, shortened with --set (fewer documents and updates): pipelines/
// quickstart.yaml validates with no warnings, runs end to end as a child `pipe run`, prints
// the run folder at start and end and the summary table on stdout; the table's numbers are the
// evaluator's step-0 and last lines of metrics.jsonl, eval and new-token loss fall, the
// trainable count matches one worked out from config.json and the adapter's token list, and
// the adapter folder loads with the rows of exactly the new ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../src/cli.ts';
import { checkPipeline } from '../src/pipeline/load.ts';
import { loadAdapter } from '../src/adapter/peft.ts';
import { formatBytes } from '../src/train/memory-plan.ts';
import { checkWellFormedXml } from './helpers/xml.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const FILE = path.join(ROOT, 'pipelines', 'quickstart.yaml');

/** In-process CLI io; generate streams through `write`. */
function cli() {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), write: (t: string) => void out.push(t), isTTY: false };
  return { io, out, err };
}

test('quickstart.yaml validates without errors or warnings', async () => {
  const r = await checkPipeline(FILE);
  assert.deepEqual(r.issues.map((i) => `${i.severity}: ${i.message}`), []);
  assert.ok(r.pipeline);
});

test('shortened quickstart: summary on stdout from the run, adapter loads', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'tp-quickstart-'));
  try {
    const r = spawnSync(process.execPath, [
      path.join(ROOT, 'bin', 'pipe.mjs'), 'run', FILE,
      '--set', `settings.outputDir=${out}`,
      '--set', 'corpus.limit=400',
      '--set', 'train.steps=4',
      '--set', 'train.schedule={kind: constant}',
      '--set', 'evaluate.every=2',
      '--set', 'checkpoints.every=2',
    ], { encoding: 'utf8', cwd: tmpdir() }); // another cwd: relative paths resolve against the pipeline file
    assert.equal(r.status, 0, r.stderr);

    // Run folder: printed at the start and at the end, under settings.outputDir.
    const printed = [...r.stderr.matchAll(/^run folder: (.+)$/gm)].map((m) => m[1].trim());
    assert.equal(printed.length, 2, r.stderr);
    assert.equal(printed[0], printed[1]);
    const runDir = printed[0];
    assert.equal(path.dirname(runDir), out);
    for (const f of ['pipeline.json', 'events.jsonl', 'metrics.jsonl', 'train.log', 'report.md', 'report.json', 'loss-curve.svg', 'summary.txt', 'tokenizer-extension.txt']) {
      assert.ok(existsSync(path.join(runDir, f)), `${f} in the run folder`);
    }
    assert.ok(readdirSync(path.join(runDir, 'checkpoints')).some((d) => d.startsWith('step-')));
    checkWellFormedXml(readFileSync(path.join(runDir, 'loss-curve.svg'), 'utf8'));

    // The table's before/after are the first (step 0) and last evaluations the evaluator logged.
    const metrics = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(metrics.map((m) => m.step), [0, 2, 4]);
    const [first, last] = [metrics[0], metrics.at(-1)];
    const row = (label: string) => {
      const m = new RegExp(`^  ${label}\\s+(\\S+)(?: %)?\\s+(\\S+)(?: %)?$`, 'm').exec(r.stdout);
      assert.ok(m, `row '${label}' in\n${r.stdout}`);
      return [Number(m[1]), Number(m[2])];
    };
    assert.deepEqual(row('eval loss'), [Number(first.loss.toFixed(4)), Number(last.loss.toFixed(4))]);
    assert.deepEqual(row('new-token loss'), [Number(first.newToken.loss.toFixed(4)), Number(last.newToken.loss.toFixed(4))]);
    // Bits per byte: step 0 and after through the same (extended) tokenizer; the base model's own-tokenizer figure on its own row.
    assert.deepEqual(row('bits per byte'), [Number(first.bitsPerByte.toFixed(4)), Number(last.bitsPerByte.toFixed(4))]);
    assert.match(r.stdout, new RegExp(`^  … base, own tokenizer\\s+${first.baseOwn.bitsPerByte.toFixed(4)}\\s*$`, 'm'));
    assert.deepEqual(row('new-token accuracy'), [Number((100 * first.newToken.acc).toFixed(1)), Number((100 * last.newToken.acc).toFixed(1))]);
    assert.ok(last.loss < first.loss, `eval loss ${first.loss} -> ${last.loss}`);
    assert.ok(last.newToken.loss < first.newToken.loss, `new-token loss ${first.newToken.loss} -> ${last.newToken.loss}`);
    assert.equal(readFileSync(path.join(runDir, 'summary.txt'), 'utf8').trim(), r.stdout.trim());
    // The adapter carries the run's chat template and names its base model: the hint needs neither --model nor a hand-written prompt.
    // Run from outside the clone, `npx pipe` would not resolve: the hint names the bin (or a linked `pipe`).
    assert.match(r.stdout, /^  try it\s+(pipe|node \S+\/bin\/pipe\.mjs) generate --adapter \S+ --chat --user '\.\.\.'$/m);
    // Merge mode's intermediate tokens are counted apart from the words, with the chat template set.
    const ext = JSON.parse(readFileSync(path.join(runDir, 'tokenizer-extension.json'), 'utf8')) as { added: Array<{ kind: string; special?: boolean; word?: string }> };
    const count = (kind: string) => ext.added.filter((a) => (kind === 'special' ? a.special : a.kind === kind && !a.special)).length;
    assert.ok(count('intermediate') > 0, 'merge mode added intermediate tokens');
    // Surface forms (' acetaminophen', 'Acetaminophen' at a reply start) are counted under their word.
    const words = new Set(ext.added.filter((a) => a.kind === 'vocab' && !a.special).map((a) => a.word)).size;
    const wordCount = words === count('vocab') ? `${words} words` : `${words} words in ${count('vocab')} forms`;
    assert.match(r.stdout, new RegExp(`^  new tokens\\s+${wordCount}, ${count('special')} special \\(\\+${count('intermediate')} intermediate merge tokens\\)`, 'm'));

    // Adapter: where the table says, loadable, rows for exactly the new ids.
    const adapterDir = /^  adapter\s+(\/.+)$/m.exec(r.stdout)![1].trim();
    assert.equal(adapterDir, path.join(runDir, 'adapter'));
    for (const f of ['adapter_model.safetensors', 'adapter_config.json', 'tokenizer.json', 'tokenizer_config.json', 'README.md']) {
      assert.ok(existsSync(path.join(adapterDir, f)), f);
    }
    const cfg = JSON.parse(readFileSync(path.join(adapterDir, 'adapter_config.json'), 'utf8'));
    const ids: number[] = cfg.trainable_token_indices.embed_tokens;
    const adapter = await loadAdapter(adapterDir);
    assert.deepEqual(adapter.tokenRows!.embed!.ids, ids);
    assert.ok(ids.length >= 20 && ids.every((id, k) => id === 4096 + k), 'new ids appended after the base vocabulary');
    const vocab = (JSON.parse(readFileSync(path.join(adapterDir, 'tokenizer.json'), 'utf8')) as { added_tokens: Array<{ content: string; id: number }> }).added_tokens;
    assert.deepEqual(vocab.filter((t) => t.content.startsWith('<|im_')).map((t) => t.id), [4096, 4097], 'ChatML markers are the first new ids');

    // Trainable parameters, worked out from config.json: LoRA r=8 on all seven linears of each
    // layer (r * (in + out) each) plus one hidden-size row per new token (tied head: no head rows).
    const c = JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'base', 'config.json'), 'utf8'));
    const [D, F, kv] = [c.hidden_size, c.intermediate_size, c.num_key_value_heads * (c.hidden_size / c.num_attention_heads)];
    const perLayer = 8 * ((D + D) + (D + kv) + (D + kv) + (D + D) + 3 * (D + F));
    const trainable = c.num_hidden_layers * perLayer + ids.length * D;
    const shown = /^  trainable parameters\s+([\d,]+)/m.exec(r.stdout)![1];
    assert.equal(Number(shown.replace(/,/g, '')), trainable);
    // Training memory: float32 params + grads + two AdamW moments.
    const report = JSON.parse(readFileSync(path.join(runDir, 'report.json'), 'utf8'));
    assert.equal(report.branches[0].memory.total, 16 * trainable);
    const size = statSync(path.join(adapterDir, 'adapter_model.safetensors')).size;
    assert.match(r.stdout, new RegExp(`^  adapter size\\s+${formatBytes(size).replace('.', '\\.')} weights`, 'm'));

    // The adapter works with pipe eval / pipe generate --adapter: its extended tokenizer encodes
    // held-out chats in fewer tokens than the base's, and generation runs from a ChatML prompt.
    const text = path.join(out, 'chats.txt');
    writeFileSync(text, readFileSync(path.join(ROOT, 'fixtures', 'corpora', 'pharma-eval.txt'), 'utf8').split('\n\n').slice(0, 3).join('\n\n'));
    const base = path.join(ROOT, 'fixtures', 'base');
    const evalJson = async (...extra: string[]) => {
      const c = cli();
      assert.equal(await main(['eval', '--model', base, '--text', text, '--json', ...extra], c.io), 0, c.err.join('\n'));
      return JSON.parse(c.out.join('')) as { tokens: number; loss: number };
    };
    const [plain, adapted] = [await evalJson(), await evalJson('--adapter', adapterDir)];
    assert.ok(Number.isFinite(adapted.loss) && adapted.tokens < plain.tokens, `${JSON.stringify(plain)} vs ${JSON.stringify(adapted)}`);
    const g = cli();
    const prompt = '<|im_start|>user\nWhat is the usual adult dose of ibuprofen?<|im_end|>\n<|im_start|>assistant\n';
    assert.equal(await main(['generate', '--model', base, '--adapter', adapterDir, '--prompt', prompt, '--max-new-tokens', '4'], g.io), 0, g.err.join('\n'));
    assert.ok(g.out.join('').startsWith(prompt));
    // The run saved its chat template with the tokenizer, so --chat needs neither --model nor a template.
    const chat = cli();
    assert.equal(await main(['generate', '--adapter', adapterDir, '--chat', '--user', 'What is the usual adult dose of ibuprofen?', '--max-new-tokens', '4'], chat.io), 0, chat.err.join('\n'));
    assert.ok(chat.out.join('').endsWith('\n') && !chat.out.join('').includes('<|im_start|>'));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
