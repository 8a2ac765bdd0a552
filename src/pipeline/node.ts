// The node contract. Built-in nodes (nodes/*.ts) and users' custom nodes are both written
// with `defineNode`; the executor only ever sees a NodeDef.
//
// Two placements:
//  - 'main':   `run(inputs, ctx)` runs on the main thread. It pulls from its input
//              AsyncIterables at its own pace (that pull is the backpressure) and returns
//              its outputs as AsyncIterables, or nothing for a sink. The train step,
//              evaluator, readers and sinks live here (TF.js and file handles are per thread).
//              Instead of run(), a main node may give `operator(params, ctx)`, an RxJS
//              operator from its one stream input to its one stream output (operator.ts).
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
import type { OperatorFunction } from 'rxjs';
import { NodeInputMissing } from '../errors.ts';

/** A stream edge carries many items; a value edge carries one artifact (late readers still get it). */
export type EdgeKind = 'stream' | 'value';

/**
 * What flows on a port. `item` names the kind of item ('document', 'batch', 'token-list',
 * 'tokenizer', 'step-event', ...); '*' accepts anything. The graph checks that an output's
 * kind and item match the input it feeds. A port made with `stream(KIND)` or `value(KIND)`
 * (kinds.ts) also carries the kind's TypeScript type `T`, which types the node's run() or
 * process(); a port written as a plain object carries `unknown`.
 */
export interface PortSpec<T = unknown> {
  kind: EdgeKind;
  item: string;
  description?: string;
  /** An input that may be left unconnected. */
  optional?: boolean;
  /** Type only, never set: the TypeScript type of the port's items. */
  readonly itemType?: T;
}

export type Ports = Record<string, PortSpec<any>>;

/** The TypeScript type of a port's items (unknown for a port that names its item by a plain string). */
export type ItemOf<P> = P extends PortSpec<infer T> ? T : unknown;

/** Names of the inputs declared `optional: true` (or with a boolean that may be true). */
type OptionalKeys<I extends Ports> = { [K in keyof I]: I[K] extends { optional: infer B } ? (true extends B ? K : never) : never }[keyof I];
type Flat<T> = { [K in keyof T]: T[K] };

/**
 * What a main node's run() receives: one AsyncIterable per declared input (a value input
 * yields one item); an optional input that is not connected is absent.
 */
export type InputsOf<I extends Ports> = Flat<
  { [K in Exclude<keyof I, OptionalKeys<I>>]: AsyncIterable<ItemOf<I[K]>> } & { [K in OptionalKeys<I>]?: AsyncIterable<ItemOf<I[K]>> }
>;
/** What a main node's run() returns: one AsyncIterable per declared output. */
export type OutputsOf<O extends Ports> = { [K in keyof O]: AsyncIterable<ItemOf<O[K]>> };
/** A worker node's value inputs, as init() receives them by name (an unconnected optional one is absent). */
export type ValuesOf<I extends Ports> = {
  [K in keyof InputsOf<I> as I[K]['kind'] extends 'stream' ? never : K]: InputsOf<I>[K] extends AsyncIterable<infer T> | undefined ? T : never;
};
/** The item type of a node's stream input(s) (a worker or operator node has exactly one). */
export type StreamItemOf<I extends Ports> = { [K in keyof I]: I[K]['kind'] extends 'value' ? never : ItemOf<I[K]> }[keyof I];
/** The item type of a node's output(s) (a worker or operator node has exactly one). */
export type OutputItemOf<O extends Ports> = { [K in keyof O]: ItemOf<O[K]> }[keyof O];

/** Event sink shared by the run: progress display, --log JSON lines, metrics. */
export interface RunEvents {
  /**
   * Any event with a `type`; the framework declares its own events (events.ts) and knows no
   * others. The built-in nodes emit through the full union (nodes/_events.ts).
   */
  emit<E extends { type: string; node?: string }>(event: E): void;
}

export interface MainContext<P> {
  /** Instance name of this node in the pipeline file. */
  name: string;
  params: P;
  /** Folder of this run; nodes write their files under it. */
  runDir: string;
  /** Global seed of the run. */
  seed: number;
  /** Engine the run asks for (settings.backend): 'auto' | 'native' | 'wasm' | 'cpu' | 'tensorflow' | 'tensorflow-gpu'. */
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
  /**
   * A one-line status the progress display shows in place of this node's item counts (the train
   * node: step/total, loss, ETA). Item counts say little about a node that turns 10 batches into
   * minutes of work; only the node knows its own measure of progress. The latest call wins.
   * `beside`: shown after the counts rather than in their place (a note such as the pack cache's).
   */
  status(line: string, o?: { beside?: boolean }): void;
  /** Run a function of a worker module on the shared pool (for main nodes that offload work). */
  runOnPool<T>(modulePath: string, exportName: string, arg: unknown, transfer?: ArrayBuffer[]): Promise<T>;
  /**
   * The nodes downstream of this node's output `port`, directly or through others, nearest first, with
   * what each asks of its producers (NodeDef.asks): how a producer learns what its readers need (the train
   * node: at which steps to copy its weights out). Absent where a node runs outside the executor.
   */
  downstream?(port: string): DownstreamNode[];
}

/** A node downstream of an output, as MainContext.downstream names it. */
export interface DownstreamNode {
  name: string;
  type: string;
  params: unknown;
  /** What NodeDef.asks returned for its params (undefined: it asks nothing). */
  asks?: unknown;
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

interface NodeDefBase<S extends z.ZodType, I extends Ports, O extends Ports> {
  /** Node type name as used in `use:` for built-ins, e.g. 'batch-packer'. */
  name: string;
  description: string;
  params: S;
  inputs: I;
  outputs: O;
  /**
   * Whether a failing item may be sent to the rejects file (and the run go on) instead of
   * stopping the run. The user turns this on per node with `onError: reject`.
   */
  canReject?: boolean;
  /**
   * Files and folders the node writes in the run folder under fixed names rather than params
   * (relative to it; `name` is the node's name in the pipeline): the loader keeps every runPath()
   * param off them, so `adapterDir: train.log` is an error, not a file replaced.
   */
  runFiles?(name: string): string[];
  /**
   * What this node asks of the nodes upstream of it, from its params: a plain value its producers read
   * through ctx.downstream and interpret (the framework only carries it), e.g. the evaluator's
   * `{ every, atStart }` tells the train node at which steps its snapshots must carry weights.
   */
  asks?(params: z.output<S>): unknown;
  /**
   * Checks that need other nodes' params (a length set upstream against a limit this node knows):
   * the loader calls it once the graph is built, before any node runs (`pipe validate`, `pipe run`).
   * Each issue names a node and a param path in its `with:`, which the loader turns into file:line:col.
   */
  checkGraph?(params: z.output<S>, graph: GraphView): GraphIssue[] | Promise<GraphIssue[]>;
}

/** What checkGraph sees of the pipeline. */
export interface GraphView {
  /** The nodes feeding input `port`, directly or through others, nearest first. */
  upstream(port: string): Array<{ name: string; type: string; params: unknown }>;
}

export interface GraphIssue {
  /** The node whose param is at fault (this node or one upstream). */
  node: string;
  /** Param path inside that node's `with:`, e.g. ['seqLen']. */
  at: Array<string | number>;
  message: string;
  severity?: 'error' | 'warning';
}

// run/init/process/operator are declared as methods, not function-valued properties: a def
// with typed ports must stay assignable to the plain NodeDef the executor handles (method
// parameters are compared bivariantly).

export interface MainNodeDef<S extends z.ZodType = z.ZodType, I extends Ports = Ports, O extends Ports = Ports> extends NodeDefBase<S, I, O> {
  placement: 'main';
  run(inputs: InputsOf<I>, ctx: MainContext<z.output<S>>): OutputsOf<O> | void | Promise<OutputsOf<O> | void>;
}

/**
 * A main node written as an RxJS operator: one stream input, one stream output. `operator`
 * is called once per run with the params and context and returns `(in$) => out$`; the
 * executor feeds in$ from the input edge and reads out$ into the output edge through a
 * bridge (operator.ts) that pulls the input only as fast as the output is read.
 */
export interface OperatorNodeDef<S extends z.ZodType = z.ZodType, I extends Ports = Ports, O extends Ports = Ports> extends NodeDefBase<S, I, O> {
  placement: 'main';
  operator(params: z.output<S>, ctx: MainContext<z.output<S>>): OperatorFunction<StreamItemOf<I>, OutputItemOf<O>>;
}

/**
 * An operator node as the executor holds it, ports erased. Its own type rather than
 * OperatorNodeDef<S, Ports, Ports>: the ports reach the operator's input, a function parameter,
 * which would make OperatorNodeDef invariant in them and a def with typed ports no NodeDef.
 */
export interface AnyOperatorNodeDef<S extends z.ZodType = z.ZodType> extends NodeDefBase<S, Ports, Ports> {
  placement: 'main';
  operator(params: z.output<S>, ctx: MainContext<z.output<S>>): OperatorFunction<any, any>;
}

export interface WorkerNodeDef<S extends z.ZodType = z.ZodType, St = unknown, I extends Ports = Ports, O extends Ports = Ports> extends NodeDefBase<S, I, O> {
  placement: 'worker';
  /** Once per worker thread; result is WorkerContext.state. `values`: the node's value inputs by name. */
  init?(params: z.output<S>, values: ValuesOf<I>): St | Promise<St>;
  /** Per item, on a worker thread. Return fresh typed arrays: their buffers are transferred; undefined drops the item. */
  process(item: StreamItemOf<I>, params: z.output<S>, ctx: WorkerContext<St>): OutputItemOf<O> | undefined | Promise<OutputItemOf<O> | undefined>;
}

export type NodeDef<S extends z.ZodType = z.ZodType> = MainNodeDef<S> | AnyOperatorNodeDef<S> | WorkerNodeDef<S, any>;

/** A main node whose outputs come from an RxJS operator rather than run(). */
export function isOperatorNode(def: NodeDef): def is AnyOperatorNodeDef {
  return def.placement === 'main' && typeof (def as Partial<AnyOperatorNodeDef>).operator === 'function';
}

/** One stream input and one stream output: what an operator node bridges (operator.ts). */
export function operatorShaped(inputs: unknown, outputs: unknown): boolean {
  const ins = Object.values<Partial<PortSpec>>((inputs ?? {}) as Ports);
  const outs = Object.values<Partial<PortSpec>>((outputs ?? {}) as Ports);
  return ins.length === 1 && outs.length === 1 && ins[0]?.kind === 'stream' && outs[0]?.kind === 'stream';
}

/**
 * Identity helper that gives node authors type inference: params from the zod schema, and the
 * items of run()'s inputs and outputs (or process()'s item and result) from the ports.
 */
export function defineNode<S extends z.ZodType, St, const I extends Ports, const O extends Ports>(def: WorkerNodeDef<S, St, I, O>): WorkerNodeDef<S, St, I, O>;
export function defineNode<S extends z.ZodType, const I extends Ports, const O extends Ports>(def: OperatorNodeDef<S, I, O>): OperatorNodeDef<S, I, O>;
export function defineNode<S extends z.ZodType, const I extends Ports, const O extends Ports>(def: MainNodeDef<S, I, O>): MainNodeDef<S, I, O>;
export function defineNode(def: NodeDef): NodeDef {
  return def;
}

/**
 * The artifact on a value input, for a main node's run(). The executor already refuses an
 * empty value edge; this keeps a node's own error readable if it is ever driven directly.
 */
export async function firstValue<T>(input: AsyncIterable<T>, node: string, port: string): Promise<T> {
  for await (const v of input) return v;
  throw new NodeInputMissing(node, `value input '${port}' ended without a value`);
}
