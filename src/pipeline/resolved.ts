// What the loader hands the executor: a validated pipeline with node definitions loaded,
// params parsed by each node's schema (defaults filled) and edges resolved.
import type { NodeDef } from './node.ts';

export interface Settings {
  seed: number;
  /** 'auto' | 'wasm' | 'cpu' | 'tensorflow' | 'tensorflow-gpu' */
  backend: string;
  /** Parent folder of run folders; the run folder is `${outputDir}/${name}-${timestamp}`. */
  outputDir: string;
  /** Worker threads of the shared pool; 0 = derived from the machine. */
  workers: number;
  /** Items buffered per edge before the producer is paused. */
  edgeBuffer: number;
}

export interface EdgeRef {
  node: string;
  output: string;
}

export interface ResolvedNode {
  name: string;
  def: NodeDef;
  /** Absolute path (or file URL) of the module that exports the def: workers import it. */
  modulePath: string;
  /** Export name in that module ('default' for user modules). */
  exportName: string;
  params: unknown;
  /** input port name -> the output feeding it. */
  from: Record<string, EdgeRef>;
  onError: 'fail' | 'reject';
}

export interface ResolvedPipeline {
  name: string;
  file: string;
  settings: Settings;
  /** In topological order. */
  nodes: ResolvedNode[];
}
