// The native engine's weights file (src/model/weights-disk.ts) names its path when the system refuses it: a system
// error from mkdtemp/open/write carries no path a user could act on (a write's ENOSPC names none at all).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IoFailed } from '../src/errors.ts';
import { WeightsFile } from '../src/model/weights-disk.ts';

test('a temp folder that cannot hold the weights folder is named in the error', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-wf-'));
  try {
    const notAFolder = path.join(dir, 'a-file');
    writeFileSync(notAFolder, 'x');
    assert.throws(() => new WeightsFile(notAFolder), (e: Error) => {
      assert.ok(e instanceof IoFailed, String(e));
      assert.equal(e.path, notAFolder);
      assert.match(e.message, /cannot create the native engine's weights folder in .*a-file: a part of the path is a file, not a folder \(ENOTDIR\)/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed write names the weights file and the tensor being written', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-wf-'));
  const f = new WeightsFile(dir);
  try {
    (f as unknown as { fd: number }).fd = 2 ** 30; // a descriptor that is not open: EBADF, as a dying disk would refuse
    await assert.rejects(
      f.append('model.norm.weight', [4], async (write) => write(new Float32Array(4), 0)),
      (e: Error) => {
        assert.ok(e instanceof IoFailed, String(e));
        assert.equal(e.path, f.path);
        assert.match(e.message, /cannot write model\.norm\.weight into the native engine's weights file .*weights\.bin: .*\(EBADF\)/);
        return true;
      },
    );
  } finally {
    f.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});
