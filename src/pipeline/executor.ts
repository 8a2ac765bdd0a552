// Builds the running graph from a ResolvedPipeline and runs it to the end.
//
// Data moves by pull: each edge is an AsyncIterable the consumer pulls (direct edge), a
// bounded tee (fan-out, slowest consumer sets the pace) or a replayed value. Worker nodes
// pull their input through boundedParallel onto the shared pool. RxJS carries the
// orchestration: the event stream, progress ticks, and the join of every node's end. Data
// items meet RxJS only inside an operator node, fed by a bridge that pulls (operator.ts):
// RxJS operators left to themselves buffer without bound (anchors-pipeline-style.md §1.2).
//
// Failure: the first NodeFailed is the run's error; it halts the run (sources stop) and the
// rest unwinds through the edges. Rejected items go to the rejects sink and the run goes on.
import { forkJoin, from, lastValueFrom, defaultIfEmpty } from 'rxjs';
import { NodeFailed, NodeModuleInvalid } from '../errors.ts';
import { isOperatorNode, type AnyOperatorNodeDef, type DownstreamNode, type MainContext, type MainNodeDef, type Outputs, type WorkerNodeDef } from './node.ts';
import { breadthFirst } from './graph.ts';
import { bridgeOperator } from './operator.ts';
import type { ResolvedNode, ResolvedPipeline } from './resolved.ts';
import type { EventBus } from './events.ts';
import type { RunPool } from './pool.ts';
import { boundedParallel, SKIP, type ParallelStats } from '../util/parallel.ts';
import { InputReader, OutputPort } from './ports.ts';
import { tee, valueEdge, type TeeStats } from './tee.ts';
import { checkRunnable, consumersByOutput, resolveFrom, type Consumers } from './wiring.ts';

export type NodeStatus = 'waiting' | 'running' | 'done' | 'failed' | 'cancelled';

export interface NodeStats {
  name: string;
  placement: 'main' | 'worker';
  status: NodeStatus;
  /** Items taken from stream inputs. */
  in: number;
  /** Items yielded on outputs. */
  out: number;
  rejected: number;
  /** Items waiting at the node's inputs plus (worker nodes) in flight on the pool. */
  queue: number;
  ms?: number;
  /** The node's own status line (ctx.status), shown instead of its counts (or after them: `beside`). */
  line?: string;
  beside?: boolean;
}

export interface ExecutorOptions {
  pipeline: ResolvedPipeline;
  runDir: string;
  pool: RunPool;
  events: EventBus;
  /** Routes a rejected item to <runDir>/rejects.jsonl. */
  reject(node: string, index: number | undefined, item: unknown, error: unknown): void;
  /** Items one edge may hold (settings.edgeBuffer). */
  edgeBuffer: number;
  resume?: boolean;
  dryRun?: boolean;
}

interface Running {
  node: ResolvedNode;
  stats: NodeStats;
  inputs: InputReader<unknown>[];
  streamInputs: InputReader<unknown>[];
  parallel?: ParallelStats;
  startedAt: number;
}

const STALL_WARN_MS = 30_000;

export class Executor {
  /**
   * Aborted when the run is halted (interrupt or failure): nodes see it as ctx.signal. The
   * reason is an AbortError, so `signal.throwIfAborted()` in a node reads as a stop, not a bug.
   */
  readonly halt = new AbortController();
  /** Why the run was halted, once it was. */
  haltedBy: 'interrupt' | 'failure' | null = null;
  failure: NodeFailed | null = null;
  private readonly running = new Map<string, Running>();
  private readonly tees: Array<{ edge: string; consumers: string[]; stats: TeeStats; warned: boolean }> = [];
  private readonly readers = new Map<string, InputReader<unknown>[]>();
  private consumers: Consumers = new Map();
  /** Every error already recorded, raw or wrapped, to its NodeFailed: one report per failure. */
  private readonly seen = new WeakMap<object, NodeFailed>();

  constructor(private readonly opts: ExecutorOptions) {}

  /** Resolves when every node has ended (check `failure` and `halt` for how). */
  async run(): Promise<void> {
    const { pipeline } = this.opts;
    checkRunnable(pipeline);
    this.consumers = consumersByOutput(pipeline);
    const ends: Promise<void>[] = [];
    this.opts.events.emitOwn({ type: 'run-start', name: pipeline.name, runDir: this.opts.runDir, nodes: pipeline.nodes.map((n) => n.name) });
    // Topological order: a node's producers are wired (their readers exist) before it starts.
    for (const node of pipeline.nodes) ends.push(this.startNode(node));
    await lastValueFrom(forkJoin(ends.map((e) => from(e))).pipe(defaultIfEmpty([])));
  }

  /** Stops sources; everything in flight drains to the sinks. */
  interrupt(): void {
    if (this.haltedBy) return;
    this.haltedBy = 'interrupt';
    this.halt.abort(new DOMException('run interrupted', 'AbortError'));
  }

  snapshot(): NodeStats[] {
    return [...this.running.values()].map((r) => {
      let queue = 0;
      for (const i of r.streamInputs) queue += i.depth();
      if (r.parallel) queue += r.parallel.inFlight + r.parallel.finished;
      return { ...r.stats, queue };
    });
  }

  unfinished(): string[] {
    return [...this.running.values()].filter((r) => r.stats.status === 'running' || r.stats.status === 'waiting').map((r) => r.stats.name);
  }

  /** Periodic check (progress tick): warn once per episode about a fan-out blocked on its slowest consumer. */
  checkStalls(now = performance.now()): void {
    for (const t of this.tees) {
      const since = t.stats.blockedSince;
      if (since === null) t.warned = false;
      else if (!t.warned && now - since > STALL_WARN_MS && t.stats.slowest !== null) {
        t.warned = true;
        this.opts.events.emitOwn({
          type: 'edge-stalled',
          edge: t.edge,
          waitingOn: t.consumers[t.stats.slowest],
          seconds: Math.round((now - since) / 1000),
          hint: 'a fan-out moves at its slowest consumer; if that consumer waits for a value computed from this same stream, read the stream twice (two reader nodes) instead',
        });
      }
    }
  }

  /**
   * Records a node's failure; the first one (not caused by an interrupt) is the run's error
   * and halts the run. The same error object reaches this once per edge it crosses.
   */
  private fail(error: unknown, node: string, index?: number): NodeFailed {
    const known = typeof error === 'object' && error !== null ? this.seen.get(error) : undefined;
    if (known) return known;
    const failed = error instanceof NodeFailed ? error : new NodeFailed(node, index, error);
    this.seen.set(failed, failed);
    if (typeof error === 'object' && error !== null) this.seen.set(error, failed);
    const cause = failed.cause ?? failed;
    // A node that throws AbortError (or the signal's reason) because ctx.signal fired on
    // interrupt did what it was asked; a sink downstream of it still ends normally.
    const fromInterrupt =
      this.haltedBy === 'interrupt' && (cause === this.halt.signal.reason || (cause as Error)?.name === 'AbortError');
    if (!this.failure && !fromInterrupt) {
      this.failure = failed;
      this.opts.events.emitOwn({ type: 'node-failed', node: failed.node, index: failed.index, message: failed.message, error: cause });
      if (!this.haltedBy) {
        this.haltedBy = 'failure';
        this.halt.abort(new DOMException(`run halted: ${failed.message}`, 'AbortError'));
      }
    } else {
      this.opts.events.emitOwn({ type: 'node-error', node: failed.node, index: failed.index, message: failed.message, error: cause });
    }
    return failed;
  }

  private startNode(node: ResolvedNode): Promise<void> {
    const def = node.def;
    const r: Running = {
      node,
      stats: { name: node.name, placement: def.placement, status: 'waiting', in: 0, out: 0, rejected: 0, queue: 0 },
      inputs: [],
      streamInputs: [],
      startedAt: performance.now(),
    };
    this.running.set(node.name, r);
    const inputs = this.wireInputs(node, r);
    const isSource = r.streamInputs.length === 0;
    if (isSource) r.stats.status = 'running';
    this.opts.events.emitOwn({ type: 'node-start', node: node.name, placement: def.placement });

    const indexNow = () => (r.stats.in > 0 ? r.stats.in - 1 : r.stats.out);
    let produced: Promise<Outputs | void>;
    if (def.placement === 'worker') produced = Promise.resolve(this.workerOutputs(node, def, inputs, r));
    else produced = this.callMain(node, def, inputs, r);
    const runEnded = produced.then(
      () => {},
      (e) => {
        this.fail(e, node.name, indexNow());
      },
    );

    const ports: Promise<void>[] = [];
    for (const [out, spec] of Object.entries(def.outputs)) {
      const key = `${node.name}.${out}`;
      const source = produced.then((o) => {
        const it = o?.[out];
        if (!it) throw new NodeModuleInvalid(`node '${node.name}'`, `run() returned no '${out}' output`);
        return it;
      });
      source.catch(() => {});
      const port = new OutputPort<unknown>(source, {
        onItem: () => {
          r.stats.out++;
          r.stats.status = 'running';
        },
        wrapError: (e) => this.fail(e, node.name, indexNow()),
        stopWhen: isSource ? this.halt.signal : undefined,
      });
      ports.push(port.ended);
      this.wireOutput(key, spec.kind, port, this.consumers.get(key) ?? []);
    }

    return Promise.allSettled([runEnded, ...ports]).then(() => {
      for (const i of r.inputs) i.detach();
      const own = this.failure?.node === node.name;
      r.stats.status = own ? 'failed' : this.failure ? 'cancelled' : 'done';
      r.stats.ms = Math.round(performance.now() - r.startedAt);
      this.opts.events.emitOwn({ type: 'node-end', node: node.name, status: r.stats.status, in: r.stats.in, out: r.stats.out, rejected: r.stats.rejected, ms: r.stats.ms });
    });
  }

  private wireInputs(node: ResolvedNode, r: Running): Record<string, AsyncIterable<unknown>> {
    const inputs: Record<string, AsyncIterable<unknown>> = {};
    for (const [input, spec] of Object.entries(node.def.inputs)) {
      const ref = node.from[input];
      if (!ref) continue;
      // checkRunnable made sure the producer is wired and has a reader for every consumer.
      const reader = this.readers.get(`${ref.node}.${ref.output}`)!.shift()!;
      r.inputs.push(reader);
      if (spec.kind === 'stream') {
        reader.onItem = () => {
          r.stats.in++;
          r.stats.status = 'running';
        };
        r.streamInputs.push(reader);
      }
      inputs[input] = reader;
    }
    return inputs;
  }

  /** Creates one reader per consumer (in the order consumers were listed) for an output. */
  private wireOutput(key: string, kind: 'stream' | 'value', port: OutputPort<unknown>, cons: Array<{ node: string; input: string }>): void {
    let readers: InputReader<unknown>[];
    if (kind === 'value') {
      // Errors already went through the port's wrapError; an edge error names the producer.
      const producer = key.slice(0, key.lastIndexOf('.'));
      const edge = valueEdge(port, key, (e) => this.fail(e, producer));
      readers = cons.map(() => new InputReader(edge.reader(), () => {}));
    } else if (cons.length === 0) {
      readers = [];
      // Unused output (the graph check warns): drained so its producer can finish.
      (async () => {
        for await (const _ of port);
      })().catch(() => {});
    } else if (cons.length === 1) {
      readers = [new InputReader(port, () => void port.return())];
    } else {
      const t = tee(port, cons.length, this.opts.edgeBuffer);
      this.tees.push({ edge: key, consumers: cons.map((c) => c.node), stats: t.stats, warned: false });
      readers = t.branches.map((b) => new InputReader(b, () => b.detach(), () => b.depth));
    }
    this.readers.set(key, readers);
  }

  private async callMain(node: ResolvedNode, def: MainNodeDef | AnyOperatorNodeDef, inputs: Record<string, AsyncIterable<unknown>>, r: Running): Promise<Outputs | void> {
    const ctx: MainContext<unknown> = {
      name: node.name,
      params: node.params,
      runDir: this.opts.runDir,
      seed: this.opts.pipeline.settings.seed,
      backend: this.opts.pipeline.settings.backend,
      signal: this.halt.signal,
      resume: Boolean(this.opts.resume),
      dryRun: Boolean(this.opts.dryRun),
      events: this.opts.events.forNode(node.name),
      reject: (item, error, index) => this.rejectItem(node, r, item, error, index),
      status: (line, o) => {
        r.stats.line = line;
        r.stats.beside = Boolean(o?.beside);
      },
      runOnPool: (modulePath, exportName, arg, transfer) =>
        this.opts.pool.call(resolveFrom(node.modulePath, modulePath), exportName, arg, transfer),
      downstream: (port) => this.downstream(node.name, port),
    };
    if (isOperatorNode(def)) {
      // One stream input, one stream output (checkRunnable): the operator between them.
      const [input] = Object.keys(def.inputs);
      const [output] = Object.keys(def.outputs);
      return { [output]: bridgeOperator(inputs[input], def.operator(node.params, ctx), this.opts.edgeBuffer) };
    }
    return def.run(inputs, ctx);
  }

  /** The nodes fed by `node.port`, directly or through others, nearest first, each once. */
  private downstream(node: string, port: string): DownstreamNode[] {
    const byName = new Map(this.opts.pipeline.nodes.map((n) => [n.name, n]));
    const fed = (out: string) => (this.consumers.get(out) ?? []).map((c) => c.node);
    const names = breadthFirst(fed(`${node}.${port}`), (name) => Object.keys(byName.get(name)!.def.outputs).flatMap((o) => fed(`${name}.${o}`)), (name) => byName.has(name));
    return names.map((name) => {
      const n = byName.get(name)!;
      return { name, type: n.def.name, params: n.params, asks: n.def.asks?.(n.params as never) };
    });
  }

  private rejectItem(node: ResolvedNode, r: Running, item: unknown, error: unknown, index?: number): void {
    if (!(node.onError === 'reject' && node.def.canReject)) throw new NodeFailed(node.name, index, error);
    r.stats.rejected++;
    this.opts.reject(node.name, index, item, error);
  }

  private async workerOutputs(node: ResolvedNode, def: WorkerNodeDef, inputs: Record<string, AsyncIterable<unknown>>, r: Running): Promise<Outputs> {
    const streamName = Object.keys(def.inputs).find((k) => def.inputs[k].kind === 'stream')!;
    const outName = Object.keys(def.outputs)[0];
    // Value inputs (e.g. a tokenizer) reach init() on every thread before the first item.
    const values: Record<string, unknown> = {};
    for (const [k, spec] of Object.entries(def.inputs)) {
      if (spec.kind !== 'value' || !inputs[k]) continue;
      for await (const v of inputs[k]) values[k] = v;
    }
    if (Object.keys(values).length > 0) this.opts.pool.setValues(node.name, values);
    // Transfer the item's buffers only when this node is the item's sole consumer.
    const ref = node.from[streamName];
    const exclusive = this.consumers.get(`${ref.node}.${ref.output}`)?.length === 1;
    const pool = this.opts.pool;
    const concurrency = Math.max(1, Math.min(pool.threads * 2, this.opts.edgeBuffer));
    r.parallel = { pulled: 0, inFlight: 0, finished: 0 };
    const out = boundedParallel(
      inputs[streamName],
      async (item, index) => {
        const res = await pool.runNode(node.name, item, index, exclusive);
        if (res.ok) return res.value === undefined ? SKIP : res.value;
        if (node.onError === 'reject' && def.canReject) {
          r.stats.rejected++;
          this.opts.reject(node.name, index, res.item, res.error);
          return SKIP;
        }
        throw this.fail(res.error, node.name, index);
      },
      // Items held by this stage: concurrency + highWaterMark - 1 <= edgeBuffer.
      { concurrency, highWaterMark: Math.max(1, this.opts.edgeBuffer - concurrency + 1), ordered: true },
      r.parallel,
    );
    return { [outName]: out };
  }
}
