// Leftover temp names from a killed leg (issue 21): a process killed while writing leaves
// `adapter.tmp-<pid>-<hex>`, `step-N.tmp-*` and `<file>.tmp-*` (atomic writes) or `adapter.old-*`
// (a folder moved aside) in the run folder. The next leg in that folder (`--resume`) removes them
// with a one-line message: only this project's temp names, of processes that are gone, and only
// inside the run folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere as pipe, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

// Above Linux's largest pid (2^22): no process has it.
const DEAD = 9999999;

test('--resume removes the temp files and folders a killed leg left in its run folder, and nothing else', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-temps-'));
  const file = tinyPipeline(dir, { steps: 3, every: 3 });
  const first = await pipe('run', file);
  assert.equal(first.status, 0, first.stderr);
  const run = first.runDir;
  const folder = (p: string) => {
    mkdirSync(p, { recursive: true });
    writeFileSync(path.join(p, 'part.bin'), 'half written');
    return p;
  };
  const file1 = (p: string) => (writeFileSync(p, 'x'), p);
  const leftovers = [
    folder(path.join(run, `adapter.tmp-${DEAD}-deadbeef`)),
    folder(path.join(run, `adapter.old-${DEAD}-cafebabe`)),
    folder(path.join(run, 'checkpoints', `step-00000006.tmp-${DEAD}-0badf00d`)),
    file1(path.join(run, `metrics.jsonl.tmp-${DEAD}-12345678`)),
  ];
  const kept = [
    file1(path.join(run, 'notes.tmp-keep.txt')), // not the project's pattern
    folder(path.join(run, `mine.tmp-${DEAD}-xyz`)), // not 8 hex digits
    folder(path.join(run, `live.tmp-${process.ppid}-aaaaaaaa`)), // a process that runs
    folder(path.join(dir, 'runs', `other.tmp-${DEAD}-deadbeef`)), // outside the run folder
    file1(path.join(dir, `x.tmp-${DEAD}-deadbeef`)),
  ];
  const resumed = await pipe('run', file, '--resume', '--resume-changed', '--set', 'save.keepLast=2');
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(resumed.runDir, run);
  const line = resumed.stderr.split('\n').find((l) => l.includes('temp file(s)/folder(s)'));
  assert.ok(line, resumed.stderr);
  assert.match(line, /^pipe run: removed 4 temp file\(s\)\/folder\(s\) a killed leg left: /);
  for (const p of leftovers) {
    assert.equal(existsSync(p), false, `${p} removed`);
    assert.ok(line.includes(path.relative(run, p)), `${path.relative(run, p)} named in: ${line}`);
  }
  for (const p of kept) assert.ok(existsSync(p), `${p} kept`);
  assert.ok(existsSync(path.join(run, 'adapter', 'adapter_config.json')), 'the resumed leg wrote its adapter');
});
