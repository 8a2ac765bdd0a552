// The node contract. Built-in nodes (nodes/*.ts) and users' custom nodes are both written
// with `defineNode`; the executor only ever sees a NodeDef.
//
// Two placements:
//  - 'main':   `run(inputs, ctx)` runs on the main thread. It pulls from its input
//              AsyncIterables at its own pace (that pull is the backpressure) and returns
//              its outputs as AsyncIterables, or nothing for a sink. The train step,
//              evaluator, readers and sinks live here (TF.js and file handles are per thread).
//  - 'worker': `process(item, params, ctx)` is a per-item function that runs on the shared
//              Piscina pool. The executor loads the node's module inside the worker (so the
//              module must be importable by path: built-ins and `use: ./file.ts` both are),
//              keeps a bounded number of items in flight, and transfers typed-array buffers
//              both ways instead of copying them. `init(params, values)` runs once per worker
//              thread and its result is passed as ctx.state, so heavy set-up (a tokenizer) is
//              not paid per item. A worker node has exactly one stream input and one output;
//              it may also have value inputs, which init receives (by name) in `values`.
//              `process` returning undefined drops the item.
import type { z } from 'zod';

/** A stream edge carries many items; a value edge carries one artifact (late readers still get it). */
export type EdgeKind = 'stream' | 'value';

/**
 * What flows on a port. `item` names the kind of item ('document', 'batch', 'token-list',
 * 'tokenizer', 'step-event', ...); '*' accepts anything. The graph checks that an output's
 * kind and item match the input it feeds.
 */
export interface PortSpec {
  kind: EdgeKind;
  item: string;
  description?: string;
  /** An input that may be left unconnected. */
  optional?: boolean;
}

export type Ports = Record<string, PortSpec>;

/** Event sink shared by the run: progress display, --log JSON lines, metrics. */
export interface RunEvents {
  emit(event: { type: string; node?: string; [k: string]: unknown }): void;
}

export interface MainContext<P> {
  /** Instance name of this node in the pipeline file. */
  name: string;
  params: P;
  /** Folder of this run; nodes write their files under it. */
  runDir: string;
  /** Global seed of the run. */
  seed: number;
  /** TF.js backend the run asks for (settings.backend): 'auto' | 'wasm' | 'cpu' | 'tensorflow' | 'tensorflow-gpu'. */
  backend: string;
  /** Aborted on SIGINT or on a fatal error elsewhere: sources stop producing. */
  signal: AbortSignal;
  events: RunEvents;
  /** Route one failing item to the run's rejects file instead of failing the run. */
  reject(item: unknown, error: unknown, index?: number): void;
  /** `pipe run --resume`: continue from the newest complete checkpoint in runDir. */
  resume: boolean;
  /** `pipe run --dry-run`: plan (memory, parameter counts) without training. */
  dryRun: boolean;
  /** Run a function of a worker module on the shared pool (for main nodes that offload work). */
  runOnPool<T>(modulePath: string, exportName: string, arg: unknown, transfer?: ArrayBuffer[]): Promise<T>;
}

export interface WorkerContext<S> {
  /** Whatever `init` returned in this worker thread. */
  state: S;
  /** Zero-based index of the item in its input stream. */
  index: number;
}

/** A main node gets one AsyncIterable per declared input. A value input yields exactly one item. */
export type Inputs = Record<string, AsyncIterable<unknown>>;
/** A main node returns one AsyncIterable per declared output (or void for a sink). */
export type Outputs = Record<string, AsyncIterable<unknown>>;

interface NodeDefBase<S extends z.ZodType> {
  /** Node type name as used in `use:` for built-ins, e.g. 'batch-packer'. */
  name: string;
  description: string;
  params: S;
  inputs: Ports;
  outputs: Ports;
  /**
   * Whether a failing item may be sent to the rejects file (and the run go on) instead of
   * stopping the run. The user turns this on per node with `onError: reject`.
   */
  canReject?: boolean;
}

export interface MainNodeDef<S extends z.ZodType = z.ZodType> extends NodeDefBase<S> {
  placement: 'main';
  run(inputs: Inputs, ctx: MainContext<z.output<S>>): Outputs | void | Promise<Outputs | void>;
}

export interface WorkerNodeDef<S extends z.ZodType = z.ZodType, St = unknown> extends NodeDefBase<S> {
  placement: 'worker';
  /** Once per worker thread; result is WorkerContext.state. `values`: the node's value inputs by name. */
  init?(params: z.output<S>, values: Record<string, unknown>): St | Promise<St>;
  /** Per item, on a worker thread. Return fresh typed arrays: their buffers are transferred. */
  process(item: any, params: z.output<S>, ctx: WorkerContext<St>): unknown | Promise<unknown>;
}

export type NodeDef<S extends z.ZodType = z.ZodType> = MainNodeDef<S> | WorkerNodeDef<S, any>;

/** Identity helper that gives node authors type inference for params. */
export function defineNode<S extends z.ZodType>(def: MainNodeDef<S>): MainNodeDef<S>;
export function defineNode<S extends z.ZodType, St>(def: WorkerNodeDef<S, St>): WorkerNodeDef<S, St>;
export function defineNode(def: NodeDef): NodeDef {
  return def;
}

/**
 * The artifact on a value input, for a main node's run(). The executor already refuses an
 * empty value edge; this keeps a node's own error readable if it is ever driven directly.
 */
export async function firstValue<T>(input: AsyncIterable<unknown>, node: string, port: string): Promise<T> {
  for await (const v of input) return v as T;
  throw new Error(`${node}: value input '${port}' ended without a value`);
}
