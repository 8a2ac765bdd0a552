// The custom node example of README and docs/nodes.md runs as documented: `pipe run pipelines/examples/custom-node/pipeline.yaml`,
// its worker node and its RxJS operator node included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const dir = 'pipelines/examples/custom-node';

test('the custom-node example runs: one stats line per non-empty input line, totals of the long ones', () => {
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
    // The operator node: lines of at least 10 words (minWords in the pipeline file), two per group.
    const totals = readFileSync(path.join(out, run, 'totals.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const long = stats.filter((s) => s.words >= 10);
    assert.ok(long.length >= 2 && long.length < stats.length, 'the fixture text has long and short lines');
    const groups = Array.from({ length: Math.ceil(long.length / 2) }, (_, g) => long.slice(2 * g, 2 * g + 2));
    assert.deepEqual(totals, groups.map((g) => ({ lines: g.map((s) => s.index), words: g.reduce((n, s) => n + s.words, 0) })));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
