// The one Piscina pool of a run, shared by every worker node and by ctx.runOnPool.
//
// Sizing: minThreads = maxThreads, so threads start once (when the pool is first used) and
// are never torn down mid-run; a long idleTimeout for the same reason. Flow control is not
// Piscina's job: its maxQueue rejects instead of pausing (piscina errors.ts), so callers gate
// run() with boundedParallel and the queue stays short.
//
// Values for worker nodes (their value inputs, e.g. a tokenizer) ride along with tasks only
// until every thread has confirmed it holds them, so a large value crosses about
// threads + in-flight times, not once per item.
import os from 'node:os';
import { Piscina } from 'piscina';
import { prepareTransfer } from './transfer.ts';
import { WorkerError } from '../errors.ts';

export interface WorkerNodeSpec {
  modulePath: string;
  exportName: string;
  params: unknown;
  /** Names of the node's value inputs; init waits for them. */
  valueInputs: string[];
}

export interface PoolOptions {
  /** Worker threads; 0 or absent = derived from the machine. */
  threads?: number;
  /** Worker nodes of the run, by instance name (sent once per thread as workerData). */
  nodes?: Record<string, WorkerNodeSpec>;
}

export type NodeTaskResult =
  | { ok: true; value: unknown }
  | { ok: false; error: WorkerError; item: unknown };

interface Envelope {
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string; stack?: string; code?: string };
  need?: 'values';
  item?: unknown;
  threadId: number;
  hasValues?: boolean;
}

/** Threads for a pool on this machine: every core, less one for the main thread when there are more than two. */
export function defaultThreads(): number {
  const cores = os.availableParallelism();
  return cores > 2 ? cores - 1 : cores;
}

const ENTRY = new URL('./worker-entry.mjs', import.meta.url).href;
const HOUR_MS = 3_600_000;

export class RunPool {
  readonly threads: number;
  private readonly specs: Record<string, WorkerNodeSpec>;
  private piscina: Piscina | null = null;
  private closed = false;
  private readonly values = new Map<string, { data: Record<string, unknown>; acked: Set<number> }>();

  constructor(opts: PoolOptions = {}) {
    this.threads = opts.threads && opts.threads > 0 ? Math.floor(opts.threads) : defaultThreads();
    this.specs = opts.nodes ?? {};
  }

  /** Started lazily: a run without worker nodes or runOnPool never pays for threads. */
  private get pool(): Piscina {
    // internal: the executor never uses the pool after closing it.
    if (this.closed) throw new Error('the worker pool is closed');
    this.piscina ??= new Piscina({
      filename: ENTRY,
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: HOUR_MS,
      // A second task waits in each thread's port, so a thread that finishes starts the next one at
      // once instead of waiting for the main thread to hand it over (on 2 cores, with every core busy,
      // that hand-over waited; tokenize + pack went from 1.30 to ~1.55 MB/s on 1 thread, ~2.1 to ~2.3 on 2).
      // worker-entry.mjs still runs a thread's tasks one after another.
      concurrentTasksPerWorker: 2,
      workerData: { nodes: this.specs },
    });
    return this.piscina;
  }

  get started(): boolean {
    return this.piscina !== null;
  }

  /** Tasks waiting for a free thread (a metric; our own gating keeps it small). */
  get queueSize(): number {
    return this.piscina?.queueSize ?? 0;
  }

  get utilization(): number {
    return this.piscina?.utilization ?? 0;
  }

  /** Makes a worker node's value inputs available to its init on every thread. */
  setValues(node: string, data: Record<string, unknown>): void {
    this.values.set(node, { data, acked: new Set() });
  }

  /** Starts every thread now (they import the entry and register loaders), so timing excludes start-up. */
  async warm(): Promise<void> {
    await Promise.all(Array.from({ length: this.threads }, () => this.pool.run({ kind: 'ping' })));
  }

  /**
   * Runs one item through worker node `node`. With `transfer`, the item's typed-array buffers
   * move to the worker (the caller's copies are detached); pass false when other consumers
   * still hold the same item (fan-out). Node errors come back as { ok: false }, not thrown.
   */
  async runNode(node: string, item: unknown, index: number, transfer: boolean): Promise<NodeTaskResult> {
    let sendValues = this.needsValues(node);
    let env = await this.post(node, item, index, transfer, sendValues);
    if (env.need === 'values') {
      // A thread that joined late (or a replaced one) lacks the values: resend with them.
      sendValues = true;
      env = await this.post(node, env.item, index, transfer, sendValues);
    }
    if (env.hasValues) this.values.get(node)?.acked.add(env.threadId);
    if (env.ok) return { ok: true, value: env.value };
    return { ok: false, error: toWorkerError(env), item: env.item };
  }

  /** Calls `exportName(arg)` of `modulePath` on a pool thread (ctx.runOnPool). Throws WorkerError on failure. */
  async call<T>(modulePath: string, exportName: string, arg: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    const env = await this.run({ kind: 'call', modulePath, exportName, arg }, transfer);
    if (!env.ok) throw toWorkerError(env);
    return env.value as T;
  }

  /** Waits for running tasks, then stops the threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina?.close();
  }

  /** Stops the threads now; running tasks are lost. */
  async destroy(): Promise<void> {
    this.closed = true;
    await this.piscina?.destroy();
  }

  private needsValues(node: string): boolean {
    const v = this.values.get(node);
    if (!v) return false;
    if (!this.piscina) return true;
    return this.piscina.threads.length < this.threads || this.piscina.threads.some((t) => !v.acked.has(t.threadId));
  }

  private post(node: string, item: unknown, index: number, transfer: boolean, sendValues: boolean): Promise<Envelope> {
    const prepared = transfer ? prepareTransfer(item) : { value: item, transfer: [] };
    const values = sendValues ? this.values.get(node)?.data : undefined;
    return this.run({ kind: 'node', node, item: prepared.value, index, values }, prepared.transfer);
  }

  private async run(task: unknown, transferList: ArrayBuffer[]): Promise<Envelope> {
    if (transferList.length === 0) return this.pool.run(task);
    try {
      return await this.pool.run(task, { transferList });
    } catch (error) {
      // A buffer marked untransferable we could not detect (Node 20): fall back to a copy.
      if ((error as Error)?.name === 'DataCloneError') return this.pool.run(task);
      throw error;
    }
  }
}

function toWorkerError(env: Envelope): WorkerError {
  const e = env.error ?? { name: 'Error', message: 'unknown worker error' };
  return new WorkerError(e.name, e.message, e.stack);
}
