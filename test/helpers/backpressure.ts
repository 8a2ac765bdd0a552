// The million-item backpressure run shared by the main-node and operator-node tests: a child
// process (see test/fixtures/pipeline/backpressure-run.ts for why) runs a fast source through a
// map (a main node, or an operator node with mode 'operator') into a fan-out with a slow sink.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface BackpressureResult {
  status: string;
  error?: string;
  produced: number;
  slow: number;
  fast: number;
  /** The most items the source ever ran ahead of the slow sink. */
  maxHeld: number;
}

/** Runs N items with the given edge buffer, checks that every item arrived, and returns the counts. */
export function millionItemRun(N: number, edgeBuffer: number, dir: string, mode?: 'operator'): BackpressureResult {
  const script = fileURLToPath(new URL('../fixtures/pipeline/backpressure-run.ts', import.meta.url));
  const child = spawnSync(process.execPath, ['--import', 'tsx', script, String(N), String(edgeBuffer), dir, ...(mode ? [mode] : [])], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(child.status, 0, child.stderr);
  const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as BackpressureResult;
  assert.equal(r.status, 'completed', r.error);
  assert.equal(r.produced, N);
  assert.equal(r.slow, N);
  assert.equal(r.fast, N);
  return r;
}
