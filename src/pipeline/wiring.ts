// Static wiring facts the executor needs before it starts anything: that the pipeline can be
// run as resolved, who consumes each output, and where a runOnPool module path points.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PipelineUnrunnable } from '../errors.ts';
import { isOperatorNode, operatorShaped } from './node.ts';
import type { ResolvedPipeline } from './resolved.ts';

export type Consumers = Map<string, Array<{ node: string; input: string }>>;

/**
 * What the executor relies on; the loader's graph checks report these (and more) to the
 * user with file positions, this is the last guard for pipelines built in code.
 */
export function checkRunnable(p: ResolvedPipeline): void {
  const outputs = new Set<string>();
  const bad = (msg: string) => {
    throw new PipelineUnrunnable(msg);
  };
  for (const n of p.nodes) {
    const def = n.def;
    for (const [input, spec] of Object.entries(def.inputs)) {
      const ref = n.from[input];
      if (!ref && !spec.optional) bad(`node '${n.name}': input '${input}' is not connected`);
      if (ref && !outputs.has(`${ref.node}.${ref.output}`)) {
        bad(`node '${n.name}': input '${input}' reads ${ref.node}.${ref.output}, which no earlier node produces`);
      }
    }
    if (def.placement === 'worker') {
      const streams = Object.values(def.inputs).filter((s) => s.kind === 'stream');
      const streamName = Object.keys(def.inputs).find((k) => def.inputs[k].kind === 'stream');
      if (streams.length !== 1 || Object.keys(def.outputs).length !== 1 || !n.from[streamName!]) {
        bad(`worker node '${n.name}' needs exactly one connected stream input and one output`);
      }
    }
    if (isOperatorNode(def) && !(operatorShaped(def.inputs, def.outputs) && Object.keys(n.from).length === 1)) {
      bad(`operator node '${n.name}' needs exactly one connected stream input and one stream output`);
    }
    for (const out of Object.keys(def.outputs)) outputs.add(`${n.name}.${out}`);
  }
}

/** "node.output" -> its consumers (declared, connected inputs), in pipeline order. */
export function consumersByOutput(p: ResolvedPipeline): Consumers {
  const map: Consumers = new Map();
  for (const n of p.nodes) {
    for (const [input, ref] of Object.entries(n.from)) {
      if (!(input in n.def.inputs)) continue;
      const key = `${ref.node}.${ref.output}`;
      if (!map.has(key)) map.set(key, []);
      map.get(key)!.push({ node: n.name, input });
    }
  }
  return map;
}

/** runOnPool paths are relative to the calling node's own module, like an import. */
export function resolveFrom(nodeModule: string, target: string): string {
  if (target.startsWith('file:') || path.isAbsolute(target)) return target;
  const base = nodeModule.startsWith('file:') ? nodeModule : pathToFileURL(nodeModule).href;
  return new URL(target, base).href;
}

