// `--set` paths, as docs/pipeline-files.md says (issue 21): a path typed on the command line is relative to the
// current directory, one in the file relative to the file, for every path param: the corpus
// reader's `paths` too (they are relative to its `cwd` param, the file's folder by default, and
// used to resolve against the file's folder when given with --set). The node still sees a name
// relative to its base, and the run record holds it resolved, so a resume from another folder
// that names the same file compares equal, and one that names another file does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkPipeline, loadPipeline } from '../src/pipeline/load.ts';
import { pipelineChanges, pipelineRecord } from '../src/pipeline/run-record.ts';

function layout() {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-setpaths-'));
  mkdirSync(path.join(dir, 'pipes', 'data'), { recursive: true });
  mkdirSync(path.join(dir, 'work', 'sub'), { recursive: true });
  writeFileSync(path.join(dir, 'pipes', 'data', 'a.txt'), 'in the file\n');
  writeFileSync(path.join(dir, 'work', 'other.txt'), 'typed on the command line\n');
  writeFileSync(path.join(dir, 'work', 'sub', 'third.txt'), 'another\n');
  const file = path.join(dir, 'pipes', 'p.yaml');
  // outputDir absolute: it is relative to the current directory, which differs between the loads below.
  writeFileSync(file, `name: p\nsettings: { outputDir: ${JSON.stringify(path.join(dir, 'runs'))} }\nnodes:\n  corpus: { use: corpus-reader, with: { paths: data/a.txt, textMode: line } }\n`);
  return { dir, file };
}

const paths = (p: Awaited<ReturnType<typeof loadPipeline>>) => (p.nodes[0].params as { paths: string }).paths;

test("--set corpus.paths is relative to the current directory; in the file, to the file", async () => {
  const { dir, file } = layout();
  assert.equal(paths(await loadPipeline(file, { cwd: path.join(dir, 'work') })), 'data/a.txt');
  const r = await checkPipeline(file, { cwd: path.join(dir, 'work'), overrides: ['corpus.paths=other.txt'] });
  assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
  // Relative to the reader's base (the file's folder), naming the file in the current directory.
  assert.equal(paths(r.pipeline!), path.join('..', 'work', 'other.txt'));
  // With the base given too, the path is relative to it, as the param says.
  const withBase = await loadPipeline(file, { cwd: dir, overrides: [`corpus.cwd=work/sub`, 'corpus.paths=third.txt'] });
  assert.equal(paths(withBase), 'third.txt');
  assert.equal((withBase.nodes[0].params as { cwd: string }).cwd, path.join(dir, 'work', 'sub'));
});

test('a resume from another folder that names the same file compares equal; another file is a change', async () => {
  const { dir, file } = layout();
  const first = await pipelineRecord(await loadPipeline(file, { cwd: path.join(dir, 'work'), overrides: ['corpus.paths=other.txt'] }));
  const same = await pipelineRecord(await loadPipeline(file, { cwd: dir, overrides: ['corpus.paths=work/other.txt'] }));
  assert.deepEqual(pipelineChanges(first, same), []);
  const other = await pipelineRecord(await loadPipeline(file, { cwd: dir, overrides: ['corpus.paths=work/sub/third.txt'] }));
  assert.deepEqual(pipelineChanges(first, other).map((c) => c.field).sort(), ['inputs.corpus.paths', 'nodes.corpus.with.paths']);
});
