// No two files of src/ import each other's code, directly or round a longer loop: a cycle makes
// the load order decide which module sees the other half-initialised, and it ties files that
// should read on their own. Type-only imports vanish when TypeScript is stripped and are allowed.
// The scanner is the layering check's (test/helpers/layers.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { importCycles } from './helpers/layers.ts';

const root = (rel: string) => fileURLToPath(new URL(`../${rel}`, import.meta.url));

test('no import cycle between files of src/ (type-only imports aside)', () => {
  assert.deepEqual(importCycles(root('.')), []);
});

test('the check finds a value cycle and lets type-only imports and one-way re-exports be', () => {
  assert.deepEqual(importCycles(root('test/fixtures/cycles')), ['src/m/a.ts <-> src/m/b.ts']);
});
