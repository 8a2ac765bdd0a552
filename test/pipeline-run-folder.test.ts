// Each run gets a folder with the resolved pipeline and an events.jsonl log (and --log FILE
// gets the same lines); progress prints per-node lines, plain or redrawn on a TTY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Subject } from 'rxjs';
import { runPipeline } from '../src/pipeline/run.ts';
import { pipeline } from './fixtures/pipeline/build.ts';
import { newProbe, scaleMain, sink, source } from './fixtures/pipeline/main-nodes.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-runfolder-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d));
  return { stream, text: () => text };
}

test('run folder holds pipeline.json and events.jsonl; --log and opts.events see every event', async () => {
  const probe = newProbe();
  const outputDir = path.join(tmp, 'runs');
  const p = pipeline('folder', {
    src: { def: source, params: { count: 30, probe } },
    m: { def: scaleMain, params: { factor: 3 }, from: { in: 'src.out' } },
    out: { def: sink, params: { probe }, from: { in: 'm.out' } },
  }, { outputDir });
  const seen: string[] = [];
  const logFile = path.join(tmp, 'log', 'events.jsonl');
  const progress = capture();
  const r = await runPipeline(p, { logFile, events: { emit: (e) => seen.push(e.type) }, progress: 'plain', progressStream: progress.stream });
  assert.equal(r.status, 'completed');
  assert.equal(path.dirname(r.runDir), outputDir);
  assert.match(path.basename(r.runDir), /^folder-\d{8}-\d{6}$/);
  assert.deepEqual(readdirSync(outputDir), [path.basename(r.runDir)]);

  const resolved = JSON.parse(readFileSync(path.join(r.runDir, 'pipeline.json'), 'utf8'));
  assert.equal(resolved.name, 'folder');
  assert.deepEqual(resolved.nodes.map((n: { name: string }) => n.name), ['src', 'm', 'out']);
  assert.deepEqual(resolved.nodes[1].params, { factor: 3, failAt: -1, rejectAt: -1 });
  assert.deepEqual(resolved.nodes[1].from, { in: { node: 'src', output: 'out' } });

  const events = readFileSync(path.join(r.runDir, 'events.jsonl'), 'utf8');
  assert.equal(readFileSync(logFile, 'utf8'), events, '--log gets exactly the same lines');
  const parsed = events.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(parsed.map((e) => e.type), seen);
  assert.equal(parsed[0].type, 'run-start');
  assert.equal(parsed.at(-1).type, 'run-end');
  const ends = parsed.filter((e) => e.type === 'node-end');
  assert.deepEqual(ends.map((e) => [e.node, e.status, e.out]).sort(), [['m', 'done', 30], ['out', 'done', 0], ['src', 'done', 30]]);
  assert.ok(parsed.every((e) => typeof e.time === 'string'));

  // Plain progress: a final block with a line per node, no terminal escape codes.
  const text = progress.text();
  for (const n of ['src', 'm', 'out']) assert.match(text, new RegExp(`^  ${n} +done +in +\\d+ +out +\\d+`, 'm'));
  assert.doesNotMatch(text, /\x1b\[/);
});

test('on a TTY the progress block is redrawn in place', async () => {
  const probe = newProbe();
  const p = pipeline('tty', {
    src: { def: source, params: { count: 40, probe } },
    out: { def: sink, params: { probe }, from: { in: 'src.out' } },
  });
  const progress = capture();
  // One redraw when the sink's 20th item arrives, then the final one.
  const ticks = new Subject<void>();
  probe.onReceive = (_name, n) => n === 20 && ticks.next();
  const r = await runPipeline(p, { runDir: path.join(tmp, 'tty'), progress: 'tty', progressStream: progress.stream, progressTicks: ticks });
  assert.equal(r.status, 'completed');
  const text = progress.text();
  // Three lines (header + two nodes): each redraw moves the cursor back up three lines.
  assert.match(text, /\x1b\[3F/);
  assert.match(text, /\x1b\[2K  src +done/);
});
