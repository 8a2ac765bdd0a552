// One worker node between the `lines` source and the `collect` sink (test/fixtures/nodes), run
// with one pool thread: for tests of what a worker node's process() may do.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere, ROOT, runEvents } from '../fixtures/train/tiny-pipeline.ts';

const NODES = path.join(ROOT, 'test', 'fixtures', 'nodes');

/**
 * Writes `source` as a worker node module, runs `lines (count) → node → collect` and returns the
 * run's status, stderr and the in/out counts of the node and the sink.
 */
export async function runWorkerLineNode(source: string, count: number): Promise<{ status: number; stderr: string; node: { in: number; out: number }; sink: { in: number } }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-worker-node-'));
  writeFileSync(path.join(dir, 'node.ts'), source);
  const file = path.join(dir, 'p.yaml');
  writeFileSync(file, `name: worker-node
settings: { outputDir: ${JSON.stringify(path.join(dir, 'runs'))}, workers: 1 }
nodes:
  src: { use: ${JSON.stringify(path.join(NODES, 'lines.ts'))}, with: { count: ${count} } }
  node: { use: ./node.ts, from: src }
  sink: { use: ${JSON.stringify(path.join(NODES, 'collect.ts'))}, from: node }
`);
  const r = await pipeHere('run', file);
  if (r.status !== 0) return { status: r.status, stderr: r.stderr, node: { in: 0, out: 0 }, sink: { in: 0 } };
  const end = runEvents(r.runDir).find((e) => e.type === 'run-end')!;
  const stats = Object.fromEntries(end.nodes.map((n: { name: string }) => [n.name, n]));
  return { status: r.status, stderr: r.stderr, node: stats.node, sink: stats.sink };
}
