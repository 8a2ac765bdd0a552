// Every I/O error names the path and the node, in one line, with no stack trace (issue 21): an
// output folder that cannot be created (here: a regular file where a folder must go, which stops
// root too, unlike permissions) fails `pipe run` with "cannot create folder PATH: <reason>
// (ENOTDIR)", and the same inside a node names the node. --verbose adds the stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere as pipe, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-io-'));
  const blocker = path.join(dir, 'a-file');
  writeFileSync(blocker, 'not a folder\n');
  return { file: tinyPipeline(dir, { steps: 2, every: 2 }), blocker };
}

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at |\n\s+at /m, `no stack trace expected:\n${stderr}`);

test('an output folder that cannot be created: one line naming the path and the reason, exit 1', async () => {
  const { file, blocker } = setup();
  const r = await pipe('run', file, '--set', `settings.outputDir=${path.join(blocker, 'runs')}`);
  assert.equal(r.status, 1, r.stderr);
  const line = r.stderr.split('\n').find((l) => l.startsWith('pipe run: '));
  assert.ok(line, r.stderr);
  assert.ok(line.startsWith(`pipe run: cannot create folder ${path.join(blocker, 'runs')}`), line);
  assert.match(line, /a part of the path is a file, not a folder \(ENOTDIR\)$/);
  noStack(r.stderr);
  const verbose = await pipe('run', file, '--set', `settings.outputDir=${path.join(blocker, 'runs')}`, '--verbose');
  assert.equal(verbose.status, 1);
  assert.match(verbose.stderr, /\n\s+at /, '--verbose adds the stack');
});

test("a node's write that fails names the node and the path, with no stack trace", async () => {
  const { file, blocker } = setup();
  // The packer's cache folder, under a file: its mkdir fails once the tokenizer is ready.
  const r = await pipe('run', file, '--set', `pack.cacheDir=${path.join(blocker, 'cache')}`);
  assert.equal(r.status, 1, r.stderr);
  const line = r.stderr.split('\n').find((l) => l.startsWith('pipe run: failed'));
  assert.ok(line, r.stderr);
  assert.match(line, /node 'pack' failed/);
  assert.ok(line.includes(`cannot create folder ${path.join(blocker, 'cache')}`), line);
  assert.match(line, /\(ENOTDIR\)$/);
  noStack(r.stderr);
});
