// The layering of docs/architecture.md §2 holds in the code: every import in src/ and nodes/
// points down the layer table of test/helpers/layers.ts (or stays in its layer), and the
// framework (src/pipeline) imports no domain layer. The two library pairs the architecture
// draws side by side are ordered: src/data may import src/tokenizer (the packer tokenizes with
// its artifact), never the reverse; src/train may import src/adapter (checkpoints hold an
// adapter), never the reverse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { layerViolations } from './helpers/layers.ts';

const root = (rel: string) => fileURLToPath(new URL(`../${rel}`, import.meta.url));

test('every import in src/ and nodes/ points down the layers', () => {
  assert.deepEqual(layerViolations(root('.')), []);
});

test('the check finds upward, domain and unknown-folder imports, and only those', () => {
  assert.deepEqual(layerViolations(root('test/fixtures/layers')), [
    'nodes/self.ts -> src/index.ts (nodes imports cli)',
    'src/misc/odd.ts: in no layer (unknown folder src/misc/)',
    'src/model/up.ts -> src/train/t.ts (model imports train)',
    'src/model/up.ts -> src/train/t.ts (model imports train)',
    'src/model/up.ts -> src/train/t.ts (model imports train)',
    'src/pipeline/domain.ts -> src/model/down.ts (pipeline imports model: the framework knows no domain)',
  ]);
});
