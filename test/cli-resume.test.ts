// `pipe run --resume` as a user would use it: a training run is stopped with Ctrl-C (SIGINT)
// mid-training, then resumed in the same run folder; the losses of every step equal those of
// an uninterrupted run of the same pipeline (to 1e-6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PIPE, ROOT, pipeRun, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

const STEPS = 40;

/** step -> loss from the run's events.jsonl; a resumed step logged twice keeps the later value. */
function losses(runDir: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line);
    if (e.type === 'train-step') m.set(e.step, e.loss);
  }
  return m;
}

async function interruptAfter(file: string, step: number): Promise<{ code: number | null; runDir: string }> {
  const child = spawn(process.execPath, [PIPE, 'run', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const runDir = await new Promise<string>((resolve) => {
    const t = setInterval(() => {
      const m = /run folder: (\S+)/.exec(stderr);
      if (!m) return;
      const events = path.join(m[1], 'events.jsonl');
      if (existsSync(events) && Math.max(0, ...losses(m[1]).keys()) >= step) {
        clearInterval(t);
        child.kill('SIGINT');
        resolve(m[1]);
      }
    }, 20);
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, runDir };
}

test('Ctrl-C mid-training, then pipe run --resume, repeats the uninterrupted loss curve', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-resume-'));
  const file = tinyPipeline(dir, { steps: STEPS, every: 4 });

  const whole = losses(pipeRun(file).runDir);
  assert.equal(whole.size, STEPS);

  // A second, separate output folder keeps the two runs apart.
  const dir2 = mkdtempSync(path.join(tmpdir(), 'tp-resume-'));
  const file2 = tinyPipeline(dir2, { steps: STEPS, every: 4 });
  const stopped = await interruptAfter(file2, 6);
  assert.equal(stopped.code, 130, 'an interrupted run exits 130');
  const before = losses(stopped.runDir);
  assert.ok(before.size < STEPS, `the run was stopped before the end (${before.size} steps)`);

  const resumed = spawnSync(process.execPath, [PIPE, 'run', file2, '--resume'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`run folder: ${stopped.runDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(resuming\\)`));
  const after = losses(stopped.runDir);
  assert.equal(after.size, STEPS);
  for (const [step, loss] of whole) {
    assert.ok(Math.abs(after.get(step)! - loss) <= 1e-6, `step ${step}: ${after.get(step)} vs ${loss}`);
  }
});

test('--resume without an earlier run names the problem', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-resume-'));
  const file = tinyPipeline(dir, { steps: 2 });
  const r = spawnSync(process.execPath, [PIPE, 'run', file, '--resume'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--resume: no earlier run of 'e2e' under .*runs/);
});

test('--resume skips run folders without a checkpoint (a --dry-run, say)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-resume-'));
  const file = tinyPipeline(dir, { steps: 2 });
  pipeRun(file, '--dry-run');
  const r = spawnSync(process.execPath, [PIPE, 'run', file, '--resume'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--resume: no earlier run with a checkpoint \(1 run folder\(s\) without one\) of 'e2e'/);
});
