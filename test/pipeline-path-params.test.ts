// pathParam(): relative paths in a pipeline file are relative to that file's folder; relative
// paths given with --set are relative to the current directory; the node gets them absolute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadPipelineSource } from '../src/pipeline/load.ts';
import filesNode from './fixtures/nodes/files.ts';

const pipelineDir = path.resolve('test/fixtures/pipelines');
const src = `nodes:\n  f:\n    use: ../nodes/files.ts\n    with:\n      file: corpus/a.txt\n      more: [b.txt, /abs/c.txt]\n`;

test('file-relative paths, absolute paths and defaults', async () => {
  const p = await loadPipelineSource(src, path.join(pipelineDir, 'paths.yaml'));
  assert.deepEqual(p.nodes[0].params, {
    file: path.join(pipelineDir, 'corpus/a.txt'),
    more: [path.join(pipelineDir, 'b.txt'), '/abs/c.txt'],
    fallback: path.join(pipelineDir, 'data/default.txt'),
  });
});

test('--set paths are relative to the current directory', async () => {
  const cwd = '/work/elsewhere';
  const p = await loadPipelineSource(src, path.join(pipelineDir, 'paths.yaml'), { cwd, overrides: ['f.file=x.txt', 'f.more=[y.txt]'] });
  assert.equal((p.nodes[0].params as any).file, '/work/elsewhere/x.txt');
  assert.deepEqual((p.nodes[0].params as any).more, ['/work/elsewhere/y.txt']);
});

test('outside the loader a path param is left as given', () => {
  assert.deepEqual(filesNode.params.parse({ file: 'rel.txt' }), { file: 'rel.txt', more: [], fallback: 'data/default.txt' });
});
