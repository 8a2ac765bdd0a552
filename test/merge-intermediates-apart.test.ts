// Merge mode adds, besides each word, the intermediate merges that build it (Ġace, Ġacet, … for
// Ġacetaminophen). The tokenizer artifact marks their ids; the trainer keeps their rows (they are
// new ids like any other), and the summary counts them apart: "N words, M special (+K
// intermediate merge tokens)", with macro figures over the tokens that occur as targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extendTokenizer } from '../src/tokenizer/extend.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { BranchRecorder } from '../src/report/record.ts';
import { newTokensLine } from '../src/report/format.ts';
import type { TrainSnapshot } from '../src/train/items.ts';
import type { TokenMetrics } from '../src/train/evaluate.ts';

test('intermediate merge tokens are marked in the artifact and counted apart in the summary', () => {
  const base = loadTokenizer('fixtures/base');
  const { artifact, report } = extendTokenizer(base, [
    { content: '<|im_end|>', special: true, origin: 'template' },
    { content: 'acetaminophen', special: false, origin: 'mined' },
    { content: 'ibuprofen', special: false, origin: 'mined' },
  ], { mode: 'merge' });
  const inter = report.added.filter((e) => e.kind === 'intermediate').map((e) => e.id);
  assert.ok(inter.length >= 2, 'the fixture tokenizer needs intermediate merges for these words');
  assert.deepEqual(artifact.intermediateIds, inter);
  const byId = new Map(artifact.newTokenIds.map((id, k) => [id, artifact.newTokens[k]]));
  assert.ok(!inter.some((id) => ['Ġacetaminophen', 'Ġibuprofen', '<|im_end|>'].includes(byId.get(id)!)), 'a word is never an intermediate');
  assert.equal(artifact.newTokens.length, 3 + inter.length, 'every intermediate keeps its id (and row)');

  // Only the words and the marker are targets in the eval split; intermediates never are.
  const hit: TokenMetrics = { count: 4, loss: 1, acc: 0.5, predicted: 4, emissionRate: 1 };
  const none: TokenMetrics = { count: 0, loss: NaN, acc: NaN, predicted: 0, emissionRate: NaN };
  const perToken = Object.fromEntries(artifact.newTokens.map((t) => [t, inter.includes(artifact.newTokenIds[artifact.newTokens.indexOf(t)]) ? none : hit]));
  const run = {
    trainable: { lora: 0, total: 0 }, optimizerBytes: 0, cfg: { embedding: 'trainable-tokens' },
    tokens: { newTokens: artifact.newTokens, newTokenIds: artifact.newTokenIds },
  } as unknown as TrainSnapshot['run'];
  const rec = new BranchRecorder('run');
  rec.observe({
    run, step: 0, reason: 'end', consumed: 0, baseModel: 'base', checkpointRoot: '', tokenizer: artifact,
    metrics: { tokens: 10, loss: 1, ppl: Math.E, newToken: { count: 12, loss: 1, acc: 0.5, macroAcc: 0.5 }, perToken },
  });
  const line = newTokensLine(rec.result()!);
  assert.match(line, new RegExp(`^2 words, 1 special \\(\\+${inter.length} intermediate merge tokens\\); 3 occur as targets in the eval split: `));
});
