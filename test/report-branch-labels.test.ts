// A summary's report and chart name the training branch (its embedding mode), not the node that
// recorded it: the table's column and the loss curve's legend read 'trainable-tokens', never
// 'summary' or 'summary (trainable-tokens)'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { driveSummary } from './helpers/summary-node.ts';

test('report.md and loss-curve.svg label the branch trainable-tokens', async () => {
  const runDir = mkdtempSync(path.join(tmpdir(), 'tp-labels-'));
  await driveSummary(runDir, { steps: 2 });
  const md = readFileSync(path.join(runDir, 'report.md'), 'utf8');
  assert.ok(md.split('\n').includes('| | trainable-tokens |'), md);
  const svg = readFileSync(path.join(runDir, 'loss-curve.svg'), 'utf8');
  const texts = [...svg.matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.ok(texts.includes('trainable-tokens'), texts.join(' | '));
  assert.ok(!texts.some((t) => t.includes('summary')), texts.join(' | '));
  const json = JSON.parse(readFileSync(path.join(runDir, 'report.json'), 'utf8'));
  assert.equal(json.branches[0].name, 'trainable-tokens');
  assert.doesNotMatch(md + svg, /summary \(trainable-tokens\)|\| summary \|/);
});
