// The README's custom node example runs as documented: `pipe run pipelines/examples/custom-node/pipeline.yaml`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const dir = 'pipelines/examples/custom-node';

test('the custom-node example runs and writes one stats line per non-empty input line', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'tokenpipe-example-'));
  try {
    // Run from another directory: the pipeline's relative paths must not depend on the cwd.
    const r = spawnSync(process.execPath, [path.resolve('bin/pipe.mjs'), 'run', path.resolve(dir, 'pipeline.yaml'), '--set', `settings.outputDir=${out}`], {
      cwd: os.tmpdir(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const [run] = readdirSync(out);
    const stats = readFileSync(path.join(out, run, 'stats.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const lines = readFileSync(path.join(dir, 'lines.txt'), 'utf8').split('\n').filter((l) => l.trim());
    assert.equal(stats.length, lines.length);
    stats.sort((a, b) => a.index - b.index);
    lines.forEach((line, i) => {
      // minLength: 2 in the pipeline file; the text is plain ASCII words.
      const words = (line.match(/[A-Za-z']+/g) ?? []).filter((w) => w.length >= 2);
      assert.equal(stats[i].words, words.length, line);
      assert.deepEqual(stats[i].lengths, words.map((w) => w.length));
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
