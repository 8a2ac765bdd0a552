// Corpus records the reader skips are reported on the console at the end of `pipe run`, with
// where their file:line and reason were written: a run that goes on past bad input says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PIPE, ROOT } from './fixtures/train/tiny-pipeline.ts';

test('pipe run tells how many corpus records were rejected and where they are listed', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-rejects-'));
  writeFileSync(path.join(dir, 'docs.jsonl'), ['{"text": "one"}', '{"text": ', '{"body": "no text field"}', '{"text": "two"}'].join('\n') + '\n');
  const collect = path.join(ROOT, 'test', 'fixtures', 'nodes', 'collect.ts');
  writeFileSync(path.join(dir, 'p.yaml'), `name: rejects
settings: { outputDir: ${JSON.stringify(path.join(dir, 'runs'))} }
nodes:
  corpus: { use: corpus-reader, with: { paths: docs.jsonl } }
  sink: { use: ${JSON.stringify(collect)}, from: corpus.docs }
`);
  const r = spawnSync(process.execPath, [PIPE, 'run', path.join(dir, 'p.yaml')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const m = /corpus: 2 record\(s\) rejected \(file:line and reason in (\S+)\)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  const lines = readFileSync(m[1], 'utf8').trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0], /docs\.jsonl:2/);
  assert.match(lines[1], /docs\.jsonl:3/);
});
