// Cycles in `from:` are found and named in data-flow order; an acyclic graph gets a
// topological order (every node after the nodes it reads from).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPipeline, checkPipelineSource, loadPipeline } from '../src/pipeline/load.ts';

const dir = 'test/fixtures/pipelines';

test('a three-node cycle is named a -> b -> c -> a', async () => {
  const r = await checkPipeline(`${dir}/cycle.yaml`);
  const cycles = r.issues.filter((i) => i.code === 'cycle');
  assert.equal(cycles.length, 1);
  assert.equal(cycles[0].message, 'cycle: a -> b -> c -> a');
  assert.deepEqual(cycles[0].path, ['nodes', 'a', 'from']);
  assert.equal(cycles[0].line, 5); // a's `from: c`
  assert.equal(r.pipeline, undefined);
});

test('a node reading itself is a cycle of one', async () => {
  const src = `nodes:\n  x:\n    use: ./nodes/upper.ts\n    from: x\n`;
  const r = await checkPipelineSource(src, `test/fixtures/self.yaml`);
  assert.deepEqual(r.issues.filter((i) => i.code === 'cycle').map((i) => i.message), ['cycle: x -> x']);
});

test('two separate cycles are both reported', async () => {
  const node = (name: string, from: string) => `  ${name}:\n    use: ./nodes/upper.ts\n    from: ${from}\n`;
  const src = `nodes:\n${node('p', 'q')}${node('q', 'p')}${node('r', 's')}${node('s', 'r')}`;
  const r = await checkPipelineSource(src, 'test/fixtures/two.yaml');
  assert.deepEqual(r.issues.filter((i) => i.code === 'cycle').map((i) => i.message).sort(), ['cycle: p -> q -> p', 'cycle: r -> s -> r']);
});

test('topological order puts every producer before its consumers (fan-out and fan-in)', async () => {
  const p = await loadPipeline(`${dir}/valid.yaml`);
  const pos = new Map(p.nodes.map((n, i) => [n.name, i]));
  assert.equal(pos.size, 6);
  let edges = 0;
  for (const n of p.nodes) {
    for (const ref of Object.values(n.from)) {
      edges++;
      assert.ok(pos.get(ref.node)! < pos.get(n.name)!, `${ref.node} before ${n.name}`);
    }
  }
  assert.equal(edges, 6);
  // fan-out: src feeds two nodes; fan-in: join has two inputs.
  assert.equal(p.nodes.filter((n) => Object.values(n.from).some((r) => r.node === 'src')).length, 2);
  assert.deepEqual(p.nodes.find((n) => n.name === 'join')!.from, { lines: { node: 'up', output: 'out' }, vocab: { node: 'vocab', output: 'vocab' } });
});
