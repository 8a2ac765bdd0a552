// An RxJS operator node keeps backpressure: a million items through a `map` operator node,
// from a fast source into a fan-out with a slow sink, stay within the same bound as through a
// main node (test/pipeline-backpressure.test.ts): the bridge feeds the operator only when its
// reader asks, so nothing piles up in front of or inside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { millionItemRun } from './helpers/backpressure.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-opbp-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('a million items through a map operator node stay within the edge buffer of a slow sink', () => {
  const N = 1_000_000;
  const edgeBuffer = 16;
  const r = millionItemRun(N, edgeBuffer, path.join(tmp, 'a'), 'operator');
  // The same bound as a main-node map: the fan-out holds at most edgeBuffer, each stage one in hand.
  assert.ok(r.maxHeld <= edgeBuffer + 4, `source ran ${r.maxHeld} items ahead of the slow sink`);
  assert.ok(r.maxHeld >= edgeBuffer, `the fan-out buffer was never filled (${r.maxHeld}): the test did not exercise it`);
});
