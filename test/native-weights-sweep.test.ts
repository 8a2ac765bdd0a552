// A process killed before its exit hook leaves its float32 weights file (gigabytes) in the temp folder: the next
// model loaded for the native engine removes the folders whose process is gone, and leaves running ones' alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WeightsFile } from '../src/model/weights-disk.ts';

test("a new weights file sweeps the folders of dead processes, not a live one's", () => {
  const parent = mkdtempSync(join(tmpdir(), 'weights-sweep-'));
  try {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: its id is free
    for (const name of [`tokenpipe-weights-${dead}-abc`, `tokenpipe-weights-${process.pid}-def`, 'tokenpipe-weights-x', 'other-1-x']) {
      mkdirSync(join(parent, name));
      writeFileSync(join(parent, name, 'weights.bin'), 'x');
    }
    const f = new WeightsFile(parent);
    try {
      const left = readdirSync(parent).sort();
      assert.ok(!left.includes(`tokenpipe-weights-${dead}-abc`), 'the dead process\'s folder is gone');
      for (const kept of [`tokenpipe-weights-${process.pid}-def`, 'tokenpipe-weights-x', 'other-1-x']) assert.ok(left.includes(kept), kept);
      assert.ok(f.dir.startsWith(join(parent, `tokenpipe-weights-${process.pid}-`)), 'named for its owner');
    } finally {
      f.remove();
    }
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
