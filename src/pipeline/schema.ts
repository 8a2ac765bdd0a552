// The pipeline file format, as zod schemas: the single source of its types, defaults and
// validation. Node params are not checked here; each node's own `def.params` schema does
// that once the node's module is loaded (see load.ts).
import path from 'node:path';
import { z } from 'zod';

export const BACKENDS = ['auto', 'native', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'] as const;

/** Run-wide settings. Every field has a default, so `settings:` may be left out. */
export const SettingsSchema = z.strictObject({
  seed: z.number().int().default(0).describe('global seed of the run; nodes derive their own seeds from it'),
  backend: z.enum(BACKENDS).default('auto').describe('engine: native (ONNX Runtime, wasm for the rest) or a TensorFlow.js backend; auto = tensorflow-gpu, tensorflow, wasm, cpu (first that loads)'),
  outputDir: z.string().min(1).default('runs').describe('parent folder of run folders, relative to the current directory'),
  workers: z.number().int().min(0).default(0).describe('worker threads of the shared pool; 0 = derived from the machine'),
  edgeBuffer: z.number().int().min(1).default(16).describe('items buffered per edge before the producer is paused'),
});
export type SettingsInput = z.input<typeof SettingsSchema>;

/** Node instance names: no dots, since `from: node.output` splits on the dot. */
export const NODE_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const PORT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const EDGE_REF = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)?$/;

const NodeName = z.string().regex(NODE_NAME, 'node names use letters, digits, _ and - (no dots)');
const EdgeRefString = z.string().regex(EDGE_REF, "expected 'node' or 'node.output'");

export const NodeSpecSchema = z.strictObject({
  use: z.string().min(1).describe('built-in node type (see `pipe nodes`) or a module path: ./x.ts, ../x.js, /abs/x.ts'),
  export: z.string().min(1).optional().describe("export of a user module holding the node definition (default: 'default')"),
  from: z
    .union([EdgeRefString, z.record(z.string().regex(PORT_NAME), EdgeRefString)])
    .optional()
    .describe("inputs: 'node[.output]' for a node with one input, or a map input -> 'node[.output]'"),
  with: z.record(z.string(), z.unknown()).default({}).describe("params, checked by the node's schema"),
  onError: z.enum(['fail', 'reject']).default('fail').describe('reject: a failing item goes to the rejects file and the run goes on'),
});
export type NodeSpec = z.output<typeof NodeSpecSchema>;

/** Run names become folder names. */
const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export const PipelineFileSchema = z.strictObject({
  name: z.string().regex(RUN_NAME, 'run names use letters, digits, _, . and -').optional().describe('run name (default: the file name)'),
  settings: SettingsSchema.prefault({}),
  nodes: z
    .record(NodeName, NodeSpecSchema)
    .refine((m) => Object.keys(m).length > 0, 'a pipeline needs at least one node'),
});
export type PipelineFile = z.output<typeof PipelineFileSchema>;

/** 'reader' -> {node: 'reader'}; 'reader.docs' -> {node: 'reader', output: 'docs'}. */
export function parseEdgeRef(ref: string): { node: string; output?: string } {
  const dot = ref.indexOf('.');
  return dot < 0 ? { node: ref } : { node: ref.slice(0, dot), output: ref.slice(dot + 1) };
}

// --- file and folder params ---------------------------------------------------------------

/** Folder that relative path params resolve against while the loader parses a node's params. */
let pathBase: string | undefined;
const pathStrings = new WeakSet<object>();
const inputSpecs = new WeakMap<object, InputPathSpec>();

/**
 * A path param the run reads: it must be there before any node runs. The loader checks it
 * (`pipe validate` and the start of `pipe run`: file:line:column and exit 2) and `--resume`
 * compares its fingerprint with the first leg's. Outputs and caches leave `mustExist` unset.
 */
export interface InputPathSpec {
  /** A file, a folder, or a glob that matches at least one file. */
  mustExist: 'file' | 'dir' | 'glob';
  /**
   * What else must hold for what is there (a model folder whose config and tokenizer load):
   * throw an error, or return a problem; it is also called for a path that does not exist, so
   * it can say what it expected there ("not a Hugging Face model folder").
   */
  check?: (abs: string) => unknown;
  /**
   * A sibling param holding the folder a relative value is relative to (the corpus reader's
   * `cwd`). The value is then left as written: the node resolves it.
   */
  relativeTo?: string;
  /**
   * false: only a base for other paths (the corpus reader's `cwd`), whose own files are not read,
   * so `--resume` does not compare its contents.
   */
  fingerprint?: false;
}

export interface PathParamOptions extends Partial<InputPathSpec> {
  /** Default path, resolved like a given one. */
  default?: string;
}

/** Run `fn` (a synchronous params parse) with relative path params resolving against `dir`. */
export function withPathBase<T>(dir: string, fn: () => T): T {
  const prev = pathBase;
  pathBase = dir;
  try {
    return fn();
  } finally {
    pathBase = prev;
  }
}

/**
 * A file, folder or glob param. In a pipeline file a relative path is relative to the
 * pipeline file's folder (so a pipeline runs from any current directory); the node receives
 * it absolute. Outside the loader (a node's own tests) it is left as given. A string argument
 * is the default; `mustExist` makes it an input the loader checks (InputPathSpec).
 */
export function pathParam(opts: string | PathParamOptions = {}) {
  const o: PathParamOptions = typeof opts === 'string' ? { default: opts } : opts;
  const s = z.string().min(1);
  if (o.mustExist) inputSpecs.set(s, { mustExist: o.mustExist, check: o.check, relativeTo: o.relativeTo, fingerprint: o.fingerprint });
  // Relative to a sibling param: kept as written (the node knows its base), and not a
  // cwd-relative path when given with --set.
  if (o.relativeTo) return o.default === undefined ? s : s.prefault(o.default);
  pathStrings.add(s);
  const p = s.transform((v) => (pathBase !== undefined && !path.isAbsolute(v) ? path.resolve(pathBase, v) : v));
  // prefault, not default: a default is taken as already parsed and would skip the resolving.
  return o.default === undefined ? p : p.prefault(o.default);
}

/** The input spec of an (unwrapped) schema made by pathParam({mustExist}), if it is one. */
export function inputPathSpec(schema: unknown): InputPathSpec | undefined {
  return typeof schema === 'object' && schema !== null ? inputSpecs.get(schema) : undefined;
}

/** Whether a (unwrapped) schema is the string inside a pathParam(): --set values for it are cwd-relative. */
export function isPathString(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && pathStrings.has(schema);
}

// --- paths inside the run folder ------------------------------------------------------------

/**
 * What a node does at a runPath() param: writes a folder (and may replace it whole), writes a
 * file (or files: the value plus each suffix), or only reads what another node wrote there.
 */
export interface RunPathSpec {
  kind: 'dir' | 'file';
  /** Extensions the node appends to the value (a report stem: ['.md', '.json']). */
  suffixes?: string[];
  /** false: the node only reads there (the summary measures the sink's adapter folder). */
  writes?: boolean;
}

const runPathSpecs = new WeakMap<object, RunPathSpec>();

/**
 * A file or folder inside the run folder, relative to it: where a node writes (the adapter, the
 * checkpoints, a report). The loader refuses, before any node runs, a value that is absolute,
 * leaves the run folder (`..`), is the run folder itself (`.`), is one of the run's own files, or
 * lies on another writer's path (two nodes writing one folder); the node joins it onto ctx.runDir.
 */
export function runPath(opts: { default?: string } & RunPathSpec) {
  const s = z.string().min(1);
  runPathSpecs.set(s, { kind: opts.kind, suffixes: opts.suffixes, writes: opts.writes });
  return opts.default === undefined ? s : s.default(opts.default);
}

/** The spec of an (unwrapped) schema made by runPath(), if it is one. */
export function runPathSpec(schema: unknown): RunPathSpec | undefined {
  return typeof schema === 'object' && schema !== null ? runPathSpecs.get(schema) : undefined;
}
