// pipelines/ablation.yaml shortened with --set (fewer documents, three updates per branch):
// one packed stream trains the frozen, trainable-tokens and full branches side by side and the
// report node writes report.md / report.json / loss-curve.svg. The report's numbers must be the
// run's: eval figures equal each branch's metrics-<branch>.jsonl, trainable counts and training
// memory equal figures worked out from config.json and the token list, adapter sizes equal the
// files on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkPipeline } from '../src/pipeline/load.ts';
import { formatBytes } from '../src/train/memory-plan.ts';
import { checkWellFormedXml } from './helpers/xml.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const FILE = path.join(ROOT, 'pipelines', 'ablation.yaml');
const BRANCHES = [['frozen', 'frozen'], ['trainable-tokens', 'tokens'], ['full', 'full']] as const;

test('ablation.yaml validates without errors or warnings', async () => {
  const r = await checkPipeline(FILE);
  assert.deepEqual(r.issues.map((i) => `${i.severity}: ${i.message}`), []);
});

test('shortened ablation: report.md and report.json hold the run\'s numbers', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'tp-ablation-'));
  try {
    const sets = ['settings.outputDir=' + out, 'corpus.limit=300'];
    for (const [, node] of BRANCHES) sets.push(`train-${node}.steps=3`, `eval-${node}.every=3`, `ckpt-${node}.every=3`);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'pipe.mjs'), 'run', FILE, ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8', cwd: ROOT });
    assert.equal(r.status, 0, r.stderr);
    const runDir = /^run folder: (.+)$/m.exec(r.stderr)![1].trim();
    const report = JSON.parse(readFileSync(path.join(runDir, 'report.json'), 'utf8'));
    const md = readFileSync(path.join(runDir, 'report.md'), 'utf8');
    const cells = (label: string) => {
      const line = md.split('\n').find((l) => l.startsWith(`| ${label} |`));
      assert.ok(line, `row '${label}' in report.md`);
      return line.split(' | ').slice(1).map((c) => c.replace(/ \|$/, ''));
    };
    assert.deepEqual(report.branches.map((b: { name: string }) => b.name), BRANCHES.map(([b]) => b));
    assert.deepEqual(cells('embedding'), BRANCHES.map(([b]) => b));

    // Independent counts: LoRA r=8 on every linear, token rows of hidden size, tied head.
    const c = JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'base', 'config.json'), 'utf8'));
    const [D, F, kv] = [c.hidden_size, c.intermediate_size, c.num_key_value_heads * (c.hidden_size / c.num_attention_heads)];
    const lora = c.num_hidden_layers * 8 * (2 * D + 2 * (D + kv) + 2 * D + 3 * (D + F));
    const cfg = JSON.parse(readFileSync(path.join(runDir, 'adapter-trainable-tokens', 'adapter_config.json'), 'utf8'));
    const n = cfg.trainable_token_indices.embed_tokens.length;
    const expected = { frozen: lora, 'trainable-tokens': lora + n * D, full: lora + (c.vocab_size + n) * D };

    const lossCells = cells('eval loss (before → after)');
    const newLossCells = cells('new-token loss (before → after)');
    const memCells = cells('training memory (params + grads + AdamW)');
    const sizeCells = cells('adapter size (adapter_model.safetensors)');
    BRANCHES.forEach(([branch], k) => {
      const b = report.branches[k];
      const metrics = readFileSync(path.join(runDir, `metrics-${branch}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(metrics.map((m) => m.step), [0, 3], branch);
      assert.deepEqual(
        b.evals.map((e: { step: number; loss: number; newTokenLoss: number; newTokenAcc: number }) => [e.step, e.loss, e.newTokenLoss, e.newTokenAcc]),
        metrics.map((m) => [m.step, m.loss, m.newToken.loss, m.newToken.acc]),
        `${branch}: report.json evals = metrics file`,
      );
      assert.equal(lossCells[k], `${metrics[0].loss.toFixed(4)} → ${metrics[1].loss.toFixed(4)}`);
      assert.equal(newLossCells[k], `${metrics[0].newToken.loss.toFixed(4)} → ${metrics[1].newToken.loss.toFixed(4)}`);
      assert.equal(b.trainable.total, expected[branch], `${branch} trainable`);
      assert.equal(b.memory.total, 16 * expected[branch], `${branch}: float32 params + grads + 2 AdamW moments`);
      assert.equal(memCells[k], formatBytes(16 * expected[branch]));
      const size = statSync(path.join(runDir, `adapter-${branch}`, 'adapter_model.safetensors')).size;
      assert.equal(b.adapter.weightsBytes, size);
      assert.equal(sizeCells[k], formatBytes(size));
    });
    // Same starting point in every branch (same base, same initial rows, LoRA B = 0).
    const starts = report.branches.map((b: { evals: Array<{ loss: number }> }) => b.evals[0].loss);
    assert.ok(Math.max(...starts) - Math.min(...starts) < 1e-5 * starts[0], `step-0 losses ${starts}`);

    const elements = checkWellFormedXml(readFileSync(path.join(runDir, 'loss-curve.svg'), 'utf8'));
    assert.equal(elements.filter((e) => e === 'circle').length, 2 * 3 * 2, 'two evaluations per branch in each panel');
    assert.match(md, /!\[loss curves\]\(loss-curve\.svg\)/);
    assert.match(r.stdout, /^\s+trainable parameters\s+[\d,]+\s+[\d,]+\s+[\d,]+$/m, 'side-by-side table on stdout');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
