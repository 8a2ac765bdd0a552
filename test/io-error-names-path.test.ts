// Every I/O error names the path and the node, in one line, with no stack trace (issue 21). The
// failure is provoked with a regular file where a folder must go (ENOTDIR), which stops root too,
// unlike permissions. An output folder that cannot be made is refused by validate and run before
// any work; one that fails later, and a node's write that fails, give one line naming the path
// (and the node); --verbose adds the stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere as pipe, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';
import { loadPipeline } from '../src/pipeline/load.ts';
import { runPipeline } from '../src/pipeline/run.ts';

function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-io-'));
  const blocker = path.join(dir, 'a-file');
  writeFileSync(blocker, 'not a folder\n');
  return { file: tinyPipeline(dir, { steps: 2, every: 2 }), blocker };
}

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at |\n\s+at /m, `no stack trace expected:\n${stderr}`);

test('an output folder that cannot be created: validate and run refuse it, naming the path, exit 2', async () => {
  const { file, blocker } = setup();
  const set = `settings.outputDir=${path.join(blocker, 'runs')}`;
  for (const cmd of ['validate', 'run']) {
    const r = await pipe(cmd, file, '--set', set);
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stderr.includes(`--set ${set}: error: settings.outputDir: ${path.join(blocker, 'runs')}: cannot create run folders there: ${blocker} is a file, not a folder`), r.stderr);
    noStack(r.stderr);
  }
});

test('a run folder that cannot be made at run time: one line naming the path and the reason; --verbose adds the stack', async () => {
  const { file, blocker } = setup();
  // What the loader cannot see coming: the output folder turns into a file after the check.
  const dir = path.join(path.dirname(blocker), 'later');
  const p = await loadPipeline(file, { overrides: [`settings.outputDir=${dir}`] });
  writeFileSync(dir, 'now a file\n');
  await assert.rejects(runPipeline(p), (e: Error) => {
    assert.equal(e.name, 'IoFailed');
    assert.ok(e.message.startsWith(`cannot create folder ${dir}`), e.message);
    assert.match(e.message, /: a part of the path is a file, not a folder \(ENOTDIR\)$/);
    return true;
  });
  const verbose = await pipe('run', file, '--set', `pack.cacheDir=${path.join(blocker, 'cache')}`, '--verbose');
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
