// A diverging run is a failure (issue 21): `pipe run` with lr=1000 (warm-up, as the quickstart has)
// is stopped by the watchdog at the spike, ends with exit 1 and a message naming the step, the
// figure, the setting and the last good checkpoint; no final adapter is written; checkpoints whose
// weights already gave the bad loss are set aside (step-N.diverged), so the last good one is the
// newest a --resume would find; the summary says the same. A collapse (the quickstart's model with
// lr=1000 sits at ln(V) with gradient norm 0 past its spike) is stopped the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere, ROOT, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

test('lr=1000: the run stops at the spike with exit 1, no final adapter, and the last good checkpoint named', async () => {
  const file = tinyPipeline(mkdtempSync(path.join(tmpdir(), 'tp-diverge-')), { steps: 12, every: 1, summary: true, atStart: true });
  const r = await pipeHere('run', file, '--set', 'train.lr=1000', '--set', 'train.schedule={kind: linear, warmupSteps: 10}');
  assert.equal(r.status, 1, r.stderr);
  const m = /failed after [\d.]+s: .*training stopped at step (\d+): loss [\d.]+ is over 4x the first update's loss [\d.]+\. If this is expected, raise train\.watchdog\.spikeFactor \(or set train\.watchdog: off\)\. No final adapter is written; last good checkpoint: (checkpoints\/step-\d+)$/m.exec(r.stderr);
  assert.ok(m, r.stderr);
  const stopped = Number(m[1]);
  const lastGood = m[2];
  // Update `stopped` was not applied; the weights after update stopped - 1 gave its loss, so the last good is older.
  assert.equal(lastGood, `checkpoints/step-${String(stopped - 2).padStart(8, '0')}`);
  assert.ok(existsSync(path.join(r.runDir, lastGood, 'adapter_model.safetensors')), 'the last good checkpoint is there');
  const names = readdirSync(path.join(r.runDir, 'checkpoints')).filter((n) => n.startsWith('step-')).sort();
  assert.equal(names.filter((n) => /^step-\d+$/.test(n)).at(-1), path.basename(lastGood), 'the newest checkpoint a resume would take is the last good one');
  assert.ok(names.includes(`step-${String(stopped - 1).padStart(8, '0')}.diverged`), `the bad checkpoint is set aside: ${names}`);
  assert.ok(!existsSync(path.join(r.runDir, 'adapter')), 'no final adapter');
  const summary = readFileSync(path.join(r.runDir, 'summary.txt'), 'utf8');
  assert.match(summary, new RegExp(`diverged at step ${stopped}\\)`));
  assert.match(summary, new RegExp(`^  last good checkpoint  .*${lastGood}$`, 'm'));
  assert.match(summary, /^  adapter +none: training diverged/m);
  const legs = readFileSync(path.join(r.runDir, 'legs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(legs.at(-1).status, 'failed');
  assert.ok(!existsSync(path.join(r.runDir, 'run.lock')), 'the failed leg freed its run folder');
});

test('a collapse (gradient norm 0 at a loss over the start) on the quickstart model stops the run the same way', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'tp-collapse-'));
  const r = await pipeHere('run', path.join(ROOT, 'pipelines', 'quickstart.yaml'), '--set', `settings.outputDir=${out}`,
    '--set', 'corpus.limit=400', '--set', 'train.steps=12', '--set', 'train.lr=1000', '--set', 'train.tokenLr=1000',
    '--set', 'train.watchdog={spikeFactor: 1000000, collapseSteps: 4}', // the spike test would stop it first
    '--set', 'evaluate.every=100', '--set', 'checkpoints.every=1', '--set', 'checkpoints.keepLast=20');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /training stopped at step \d+: collapsed: 4 updates in a row with no learning \(gradient norm 0\) since update \d+, and the train loss [\d.]+ is over the first update's [\d.]+\. If this is expected, raise train\.watchdog\.collapseSteps/);
  // Its loss rose over the start at some update u and stayed there: the weights before u were the last sound ones.
  const log = readFileSync(path.join(r.runDir, 'train.log'), 'utf8').trim().split('\n').map((l) => Number(/\| loss +(\S+) \|/.exec(l)![1]));
  const u = log.findIndex((loss, i) => log.slice(i).every((x) => x > log[0])) + 1;
  const lastGood = `checkpoints/step-${String(u - 2).padStart(8, '0')}`;
  assert.match(r.stderr, new RegExp(`last good checkpoint: ${lastGood}$`, 'm'));
  assert.ok(existsSync(path.join(r.runDir, lastGood)));
  assert.ok(!existsSync(path.join(r.runDir, 'adapter')), 'no final adapter');
  assert.match(readFileSync(path.join(r.runDir, 'summary.txt'), 'utf8'), new RegExp(`^  last good checkpoint  .*${lastGood}$`, 'm'));
});
