// `pipe` from any folder after the documented install (`npm install -g <clone>`, here into a
// temporary prefix, offline: npm links the folder): the bin's shebang and its tsx loader
// resolve from the clone, not from the current directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './fixtures/train/tiny-pipeline.ts';

test('npm install -g <clone> gives a pipe that runs outside the clone', () => {
  const prefix = mkdtempSync(path.join(tmpdir(), 'tp-global-'));
  const npm = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', ROOT], { encoding: 'utf8', cwd: prefix });
  assert.equal(npm.status, 0, npm.stderr);
  const pipe = path.join(prefix, 'bin', 'pipe');
  const elsewhere = mkdtempSync(path.join(tmpdir(), 'tp-elsewhere-'));
  const help = spawnSync(pipe, ['--help'], { encoding: 'utf8', cwd: elsewhere });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^Usage: pipe <command>/);
  // A real command: the quickstart's built-in nodes, model and template paths resolve from here.
  const v = spawnSync(pipe, ['validate', path.join(ROOT, 'pipelines', 'quickstart.yaml')], { encoding: 'utf8', cwd: elsewhere });
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout + v.stderr, /valid/);
});
