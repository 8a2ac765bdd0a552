// One leg at a time (issue 21): a run folder is locked while a leg runs (<runDir>/run.lock: pid,
// host, start time, command). A `pipe run --resume` on a folder another live leg holds is refused
// with exit 2 naming the holder, and changes nothing there; a lock left by a process that is no
// longer running on this host is taken over with a message, and the leg removes its lock at the end.
// The live holder is this test's own process (alive for sure); the dead one a child that has exited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { interruptAfter, pipeHere, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

/** A run stopped with Ctrl-C after update 5 of 12: resumable, with a checkpoint. */
const scenario = (async () => {
  const file = tinyPipeline(mkdtempSync(path.join(tmpdir(), 'tp-lock-')), { steps: 12, every: 4 });
  const stopped = await interruptAfter(file, 5);
  return { file, runDir: stopped.runDir, code: stopped.code };
})();

const lockFile = (runDir: string) => path.join(runDir, 'run.lock');
const snapshot = (runDir: string) => ['legs.jsonl', 'train.log', 'metrics.jsonl'].map((f) => (existsSync(path.join(runDir, f)) ? readFileSync(path.join(runDir, f), 'utf8') : ''));

test('--resume on a run folder a live leg holds is refused with exit 2 naming the holder, and changes nothing', async () => {
  const { file, runDir, code } = await scenario;
  assert.equal(code, 130);
  assert.ok(!existsSync(lockFile(runDir)), 'the leg stopped with Ctrl-C removed its lock');
  const holder = { pid: process.pid, hostname: hostname(), started: '2026-12-04T10:00:00.000Z', command: 'pipe run train.yaml --resume' };
  writeFileSync(lockFile(runDir), JSON.stringify(holder) + '\n');
  const before = snapshot(runDir);
  try {
    const r = await pipeHere('run', file, '--resume');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`in use by another leg: pid ${process.pid} on host ${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} since 2026-12-04T10:00:00.000Z \\(pipe run train.yaml --resume\\)`));
    assert.deepEqual(snapshot(runDir), before, 'legs.jsonl, train.log and metrics.jsonl are as they were');
    assert.deepEqual(JSON.parse(readFileSync(lockFile(runDir), 'utf8')), holder, "the holder's lock stays");
  } finally {
    rmSync(lockFile(runDir), { force: true });
  }
});

test('a stale lock (this host, a pid no longer alive) is taken over with a message, and removed when the leg ends', async () => {
  const { file, runDir } = await scenario;
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const stale = { pid: dead, hostname: hostname(), started: '2026-12-04T09:00:00.000Z', command: 'pipe run train.yaml' };
  writeFileSync(lockFile(runDir), JSON.stringify(stale) + '\n');
  const r = await pipeHere('run', file, '--resume');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`took over the run folder's lock from a leg that is no longer running \\(pid ${dead} on host .* since 2026-12-04T09:00:00.000Z`));
  assert.ok(!existsSync(lockFile(runDir)), 'the leg removed its lock');
  // The leg ran to the end: one completed leg after the interrupted one.
  const legs = readFileSync(path.join(runDir, 'legs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(legs.at(-1).status, 'completed');
});
