// `pipe run --dry-run` prints the graph, the memory plan of the chosen embedding mode next to
// the other two, and the data plan with its estimate, and trains nothing (test/cli-dry-run-no-folder:
// it makes no run folder either).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeRun, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

test('--dry-run prints the graph, the memory plan and the estimate', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-dry-'));
  const { stdout } = pipeRun(tinyPipeline(dir, { steps: 5 }), '--dry-run');
  assert.match(stdout, /graph \(Mermaid\):\nflowchart/);
  assert.match(stdout, /train: memory plan/);
  for (const mode of ['frozen', 'trainable-tokens', 'full']) assert.match(stdout, new RegExp(mode));
  assert.match(stdout, /train: data plan\n[^]*\n {2}tokens {19}320 \(5 updates x 2 x 32\)\n {2}estimated wall time {6}\d/);
});
