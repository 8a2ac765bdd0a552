// `pipe run` exit statuses and flags: 0 completed (with --log written), 1 a node failed (its
// name and the item index in the message), 2 invalid file. (130 on Ctrl-C: see the runtime's tests.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokenpipe-run-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const pipe = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/pipe.mjs', 'run', ...args, '--set', `settings.outputDir=${tmp}`], { encoding: 'utf8', timeout: 60_000 });

test('completed run: exit 0, run folder printed, --log gets every event as JSON lines', () => {
  const log = path.join(tmp, 'events.log');
  const r = pipe('test/fixtures/pipelines/valid.yaml', '--log', log, '--set', 'src.count=4');
  assert.equal(r.status, 0, r.stderr);
  const folders = [...r.stderr.matchAll(/^run folder: (.+)$/gm)].map((m) => m[1]);
  assert.equal(folders.length, 2);
  assert.equal(folders[0], folders[1]);
  assert.ok(folders[0].startsWith(path.join(tmp, 'valid-run-')));
  const events = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(events.at(-1).type, 'run-end');
  assert.equal(events.at(-1).status, 'completed');
  // The override reached the node: src emitted 4 items.
  assert.equal(events.at(-1).nodes.find((n: { name: string }) => n.name === 'src').out, 4);
});

test('failing node: exit 1 naming the node and the item', () => {
  const r = pipe('test/fixtures/pipelines/fails.yaml');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /node 'check' failed on item 3: bad item line-3/);
});

test('invalid pipeline: exit 2 before anything runs', () => {
  const r = pipe('test/fixtures/pipelines/several-errors.yaml');
  assert.equal(r.status, 2);
  assert.doesNotMatch(r.stderr, /run folder/);
});
