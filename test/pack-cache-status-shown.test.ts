// Whether the pack cache was hit or built is shown where the user looks, not only in
// events.jsonl: on the packer's progress line (beside its counts) and in the end-of-run summary.
// The same tiny pipeline runs twice in one output folder: the first packs into the cache, the
// second reuses that packing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { checkPipeline } from '../src/pipeline/load.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { isEvent } from '../nodes/_events.ts';
import { tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

async function run(file: string): Promise<{ progress: string; summary: string }> {
  const { pipeline: p } = await checkPipeline(file);
  assert.ok(p);
  const stream = new PassThrough();
  let progress = '';
  stream.on('data', (d) => (progress += d));
  let summary = '';
  const r = await runPipeline(p, {
    progress: 'plain', progressStream: stream,
    events: { emit: (e) => void (isEvent(e, 'summary') && (summary = String(e.text))) },
  });
  assert.equal(r.status, 'completed', r.error?.message);
  return { progress, summary };
}

const packLine = (progress: string) => progress.split('\n').filter((l) => l.startsWith('  pack ')).at(-1) ?? '';
const cacheLine = (summary: string) => summary.split('\n').find((l) => l.startsWith('  pack cache ')) ?? '';

test('the first run says it built the pack cache, the second that it hit it', async () => {
  const file = tinyPipeline(mkdtempSync(path.join(tmpdir(), 'tp-cache-shown-')), { steps: 2, every: 2, summary: true });
  const first = await run(file);
  assert.match(packLine(first.progress), /in +60 +out +\d+ .*queue +\d+ +pack cache built: \S+packed/, first.progress);
  assert.match(cacheLine(first.summary), /^ {2}pack cache +built: batches packed by this run into \S+packed/, first.summary);
  const second = await run(file);
  assert.match(packLine(second.progress), /pack cache hit: \S+packed/, second.progress);
  assert.match(cacheLine(second.summary), /^ {2}pack cache +hit: batches reused from \S+packed/, second.summary);
});
