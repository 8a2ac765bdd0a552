// The summary's "try it" line prints a command the user can run from where they ran the
// pipeline: `npx pipe` inside the clone (as they invoked it), `pipe` when the clone is linked on
// the PATH (npm link / npm install -g), else the bin by its absolute path; `npx pipe` from another
// folder does not resolve. Each prefix is then run (with --help) from that folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeCommand } from '../src/report/pipe-command.ts';
import { summaryLines } from '../src/report/format.ts';
import { BranchRecorder } from '../src/report/record.ts';
import type { TrainSnapshot } from '../src/train/items.ts';
import { ROOT } from './fixtures/train/tiny-pipeline.ts';

const NPX_BIN = path.join(ROOT, 'node_modules', '.bin', 'pipe');
const PATH = process.env.PATH ?? '';

/** Runs `<prefix> --help` through the shell in `cwd`; asserts pipe's help came out. */
function runs(prefix: string, cwd: string, envPath = PATH): void {
  const r = spawnSync('sh', ['-c', `${prefix} --help`], { cwd, encoding: 'utf8', env: { ...process.env, PATH: envPath } });
  assert.equal(r.status, 0, `${prefix} in ${cwd}: ${r.stderr}`);
  assert.match(r.stdout, /^Usage: pipe <command>/);
}

test('npx inside the clone: npx pipe', () => {
  const cwd = path.join(ROOT, 'fixtures');
  const prefix = pipeCommand({ argv1: NPX_BIN, env: { npm_command: 'exec', PATH }, cwd });
  assert.equal(prefix, 'npx pipe');
  runs(prefix, cwd);
});

test('from another folder without pipe on the PATH: the bin by its absolute path', () => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'tp-tryit-'));
  const prefix = pipeCommand({ argv1: NPX_BIN, env: { npm_command: 'exec', PATH }, cwd });
  assert.equal(prefix, `node ${path.join(ROOT, 'bin', 'pipe.mjs')}`);
  runs(prefix, cwd);
});

test('linked on the PATH (as npm link leaves it): pipe, from any folder', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-tryit-link-'));
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(path.join(ROOT, 'bin', 'pipe.mjs'), path.join(bin, 'pipe'));
  const envPath = `${bin}${path.delimiter}${PATH}`;
  const prefix = pipeCommand({ argv1: path.join(bin, 'pipe'), env: { PATH: envPath }, cwd: dir });
  assert.equal(prefix, 'pipe');
  runs(prefix, dir, envPath);
  // Another tool's `pipe` first on the PATH is not ours: no bare `pipe` then.
  const other = path.join(dir, 'other');
  mkdirSync(other);
  writeFileSync(path.join(other, 'pipe'), '#!/bin/sh\n', { mode: 0o755 });
  assert.notEqual(pipeCommand({ argv1: path.join(bin, 'pipe'), env: { PATH: `${other}${path.delimiter}${envPath}` }, cwd: dir }), 'pipe');
});

test("the summary's try-it line starts with that prefix and names the adapter from the current folder", () => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'tp-tryit-sum-'));
  const adapter = path.join(cwd, 'runs', 'r-1', 'adapter');
  mkdirSync(adapter, { recursive: true });
  writeFileSync(path.join(adapter, 'adapter_model.safetensors'), Buffer.alloc(8));
  const run = {
    trainable: { lora: 0, total: 8 }, optimizerBytes: 64,
    cfg: { embedding: 'trainable-tokens' }, tokens: { newTokens: ['<x>'], newTokenIds: [9] },
  } as unknown as TrainSnapshot['run'];
  const rec = new BranchRecorder('run');
  rec.observe({ run, step: 1, reason: 'end', consumed: 1, baseModel: 'base', checkpointRoot: '', tokenizer: {} as TrainSnapshot['tokenizer'] });
  rec.findAdapter(adapter);
  const lines = summaryLines(rec.result()!, 'demo', { pipe: pipeCommand({ env: { PATH }, cwd }), cwd });
  const tryIt = lines.find((l) => l.startsWith('  try it'))!;
  assert.equal(tryIt.replace(/^ {2}try it +/, ''), `node ${path.join(ROOT, 'bin', 'pipe.mjs')} generate --adapter runs/r-1/adapter --prompt '...'`);
});
