// Pooled vs macro new-token accuracy on a constructed case: '<|im_end|>' is the target 110 times
// and always right, 'Ġibuprofen' 10 times and never right, 'Ġaspirin' never a target. Pooled
// (over positions) is 110/120 = 91.7 %; macro (mean over the tokens that occur as targets) is
// (100 % + 0 %) / 2 = 50.0 %. The summary shows both; report.md lists each token, worst first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { macroAccuracy, type EvalMetrics, type TokenMetrics } from '../src/train/evaluate.ts';
import { BranchRecorder } from '../src/report/record.ts';
import { summaryLines } from '../src/report/format.ts';
import { reportMarkdown } from '../src/report/markdown.ts';
import type { TrainSnapshot } from '../src/train/items.ts';

const tm = (count: number, right: number, loss: number, predicted: number): TokenMetrics => ({
  count, loss: count ? loss : NaN, acc: right / count, predicted, emissionRate: predicted / count,
});

function metrics(after: boolean): EvalMetrics {
  const perToken = {
    '<|im_end|>': tm(110, after ? 110 : 0, after ? 0.01 : 9, after ? 110 : 0),
    'Ġibuprofen': tm(10, 0, after ? 4 : 12, 0),
    'Ġaspirin': tm(0, 0, 0, 3),
  };
  const right = after ? 110 : 0;
  return { tokens: 500, loss: 3, ppl: Math.exp(3), newToken: { count: 120, loss: 1, acc: right / 120, macroAcc: macroAccuracy(perToken) }, perToken };
}

const run = {
  trainable: { lora: 0, total: 8 }, optimizerBytes: 64,
  cfg: { embedding: 'trainable-tokens' }, tokens: { newTokens: ['<|im_end|>', 'Ġibuprofen', 'Ġaspirin'], newTokenIds: [10, 11, 12] },
} as unknown as TrainSnapshot['run'];

const snap = (step: number, reason: TrainSnapshot['reason']): TrainSnapshot => ({
  run, step, reason, consumed: step, baseModel: 'base', checkpointRoot: '', metrics: metrics(step > 0),
  tokenizer: { tokenizerJson: { added_tokens: [{ id: 10, content: '<|im_end|>', special: true }] } } as unknown as TrainSnapshot['tokenizer'],
});

test('macro accuracy is the mean over tokens that occur as targets, not over positions', () => {
  const m = metrics(true);
  assert.equal(m.newToken.acc, 110 / 120);
  assert.equal(macroAccuracy(m.perToken), 0.5, 'Ġaspirin (never a target) is left out, not counted as 0');
  assert.ok(Number.isNaN(macroAccuracy({})));
});

test('the summary shows pooled and macro accuracy; report.md lists each token worst first', () => {
  const rec = new BranchRecorder('run');
  rec.observe(snap(0, 'start'));
  rec.observe(snap(2, 'end'));
  const r = rec.result()!;
  const lines = summaryLines(r, 'demo');
  assert.match(lines.find((l) => l.startsWith('  new-token accuracy '))!, /0\.0 %\s+91\.7 %$/);
  assert.match(lines.find((l) => l.startsWith('  … macro (per word)'))!, /0\.0 %\s+50\.0 %$/);
  assert.match(lines.find((l) => l.startsWith('  accuracy '))!, /macro: mean over the 2 words \(a word's forms pooled\) that occur as targets/);
  const md = reportMarkdown([r], { title: 'demo', runDir: '/tmp/x', image: 'loss-curve.svg' });
  const rows = md.split('\n').filter((l) => /^\| `.*\| (\d+\.\d\d|n\/a) \|$/.test(l));
  assert.deepEqual(rows, [
    '| `Ġibuprofen` | 10 | 12.0000 | 4.0000 | 0.0 % | 0.00 |',
    '| `<\\|im_end\\|>` | 110 | 9.0000 | 0.0100 | 100.0 % | 1.00 |',
  ]);
});

test("macro accuracy counts words: a word's surface forms are pooled, then each word counts once", () => {
  const perToken = {
    '<|im_end|>': tm(110, 110, 0.01, 110),
    'Ġibuprofen': tm(10, 0, 4, 0),
    'Ibuprofen': tm(30, 30, 0.1, 30),
    '▁Ibuprofen': tm(0, 0, 0, 1),
  };
  // ibuprofen: 30 right of 40 = 75 %; <|im_end|>: 100 %. Per token it would be (100 + 0 + 100) / 3.
  assert.equal(macroAccuracy(perToken), (0.75 + 1) / 2);
});

test("report.md lists a word's forms under a line for the word, figures pooled", () => {
  const formsRun = { ...run, tokens: { newTokens: ['<|im_end|>', 'Ġibuprofen', 'Ibuprofen'], newTokenIds: [10, 11, 12] } } as unknown as TrainSnapshot['run'];
  const m = (after: boolean): EvalMetrics => {
    const perToken = { '<|im_end|>': tm(110, 110, 0.01, 110), 'Ġibuprofen': tm(10, 0, after ? 4 : 12, 0), 'Ibuprofen': tm(30, after ? 30 : 0, after ? 0.1 : 10, after ? 30 : 0) };
    return { tokens: 500, loss: 3, ppl: Math.exp(3), newToken: { count: 150, loss: 1, acc: 0.5, macroAcc: macroAccuracy(perToken) }, perToken };
  };
  const rec = new BranchRecorder('run');
  rec.observe({ ...snap(0, 'start'), run: formsRun, metrics: m(false) });
  rec.observe({ ...snap(2, 'end'), run: formsRun, metrics: m(true) });
  const md = reportMarkdown([rec.result()!], { title: 'demo', runDir: '/tmp/x', image: 'loss-curve.svg' });
  const rows = md.split('\n').filter((l) => /^\| (`|\*\*|↳).*\| (\d+\.\d\d|n\/a) \|$/.test(l));
  assert.deepEqual(rows, [
    '| **ibuprofen** (2 forms) | 40 | 10.5000 | 1.0750 | 75.0 % | 0.75 |',
    '| ↳ `Ġibuprofen` | 10 | 12.0000 | 4.0000 | 0.0 % | 0.00 |',
    '| ↳ `Ibuprofen` | 30 | 10.0000 | 0.1000 | 100.0 % | 1.00 |',
    '| `<\\|im_end\\|>` | 110 | 0.0100 | 0.0100 | 100.0 % | 1.00 |',
  ]);
});
