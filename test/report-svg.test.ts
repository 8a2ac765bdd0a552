// The loss-curve SVG is well-formed XML (checked by a small independent checker, itself tested
// on broken inputs), escapes branch names, draws one dot per evaluation, and puts every
// point inside its panel; tick values are round and cover the range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossCurveSvg, niceTicks } from '../src/report/svg.ts';
import type { BranchRecord } from '../src/report/record.ts';
import { checkWellFormedXml } from './helpers/xml.ts';

function record(name: string, mode: BranchRecord['mode'], evalLosses: number[], every: number): BranchRecord {
  const steps = every * (evalLosses.length - 1);
  return {
    name, mode, steps, ended: 'end', seconds: 1, newTokens: ['<x>'], baseModel: '/m',
    trainLoss: Array.from({ length: steps }, (_, k) => ({ step: k + 1, loss: 6 - k * 0.01 })),
    evals: evalLosses.map((loss, k) => ({ step: k * every, loss, ppl: Math.exp(loss), newTokenLoss: loss * 2, newTokenAcc: 0.1 * k, newTokenCount: 5, tokens: 100, perTokenAcc: { '<x>': 0.1 * k } })),
    trainable: { lora: 10, tokens: 5, total: 15 },
    memory: { params: 60, grads: 60, optimizer: 120, total: 240 },
  };
}

test('the checker rejects broken XML', () => {
  for (const bad of ['<a><b></a></b>', '<a x="1" x="2"/>', '<a>1 < 2</a>', '<a>&nbsp;</a>', '<a/><b/>', '<a>', 'text<a/>', '<a x=1/>']) {
    assert.throws(() => checkWellFormedXml(bad), /not well-formed/, bad);
  }
  assert.deepEqual(checkWellFormedXml('<?xml version="1.0"?>\n<a k="&amp;"><b/>x &lt; y<!-- c --></a>\n'), ['a', 'b']);
});

test('loss-curve SVG: well-formed, names escaped, one dot per evaluation in each panel', () => {
  const recs = [record('frozen <&>', 'frozen', [6, 5.5, 5.2], 10), record("tokens 'q'", 'trainable-tokens', [6, 4, 3, 2.5], 10)];
  const svg = lossCurveSvg(recs);
  const elements = checkWellFormedXml(svg);
  assert.equal(elements[0], 'svg');
  assert.ok(svg.includes('frozen &lt;&amp;&gt; (frozen)'));
  assert.ok(svg.includes('tokens &apos;q&apos;'));
  // Eval dots: (3 + 4) in the loss panel and again in the new-token panel.
  assert.equal(elements.filter((e) => e === 'circle').length, 2 * 7);
  // Polylines: train + eval per branch (left), eval per branch (right).
  assert.equal(elements.filter((e) => e === 'polyline').length, 3 * 2);
  const width = Number(/<svg[^>]*width="(\d+)"/.exec(svg)![1]);
  const height = Number(/<svg[^>]*height="(\d+)"/.exec(svg)![1]);
  for (const m of svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)) {
    assert.ok(Number(m[1]) >= 0 && Number(m[1]) <= width && Number(m[2]) >= 0 && Number(m[2]) <= height, m[0]);
  }
});

test('a branch without evaluations or with NaN losses still gives a well-formed image', () => {
  const empty = { ...record('x', 'full', [1], 1), evals: [], trainLoss: [] };
  const nan = record('y', 'frozen', [Number.NaN, 2], 5);
  checkWellFormedXml(lossCurveSvg([empty, nan]));
  assert.ok(!lossCurveSvg([nan]).includes('NaN'));
});

test('ticks are round numbers covering the range', () => {
  assert.deepEqual(niceTicks(0, 60), [0, 20, 40, 60]); // raw step 12 -> the next of 1, 2, 5 x 10^k is 20
  assert.deepEqual(niceTicks(2.3, 6.6), [3, 4, 5, 6]);
  assert.deepEqual(niceTicks(0.11, 0.19, 4), [0.12, 0.14, 0.16, 0.18]);
});
