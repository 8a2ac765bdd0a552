// runPipeline: one run (or one leg of a resumed run) of a resolved pipeline, from run folder to
// exit status. The run folder records what ran: src/pipeline/run-record.ts.
//
// Shutdown: on SIGINT (handleSigint) or opts.signal, sources stop, items in flight finish,
// sinks flush (their run() returns), and the run resolves 'interrupted' (exit code 130).
// A second SIGINT, or the drain taking longer than drainTimeoutMs, stops the pool at once.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { interval, type Observable } from 'rxjs';
import { asIoFailed, NodeFailed, RefusedBeforeWork } from '../errors.ts';
import { appendSync } from '../io/append.ts';
import { removeLeftoverTemps } from '../io/owned-dir.ts';
import type { RunEvents } from './node.ts';
import type { ResolvedPipeline } from './resolved.ts';
import { EventBus, jsonSafe } from './events.ts';
import { endLeg, pipelineRecord, readPipelineRecord, startLeg, writePipelineRecord, type FieldChange } from './run-record.ts';
import { Executor, type NodeStats } from './executor.ts';
import { acquireRunLock, formatHolder, type RunLock } from './run-lock.ts';
import { RunPool, type WorkerNodeSpec } from './pool.ts';
import { startProgress, type ProgressMode } from './progress.ts';

export interface RunOptions {
  /** Run folder; default `${settings.outputDir}/${name}-${YYYYMMDD-HHMMSS}` (created). */
  runDir?: string;
  /** Aborting it interrupts the run like SIGINT does. */
  signal?: AbortSignal;
  /** Also receives every event. */
  events?: RunEvents;
  /** `--log FILE`: every event as a JSON line (besides <runDir>/events.jsonl). */
  logFile?: string;
  /** Default 'none'; the CLI passes defaultProgressMode(). */
  progress?: ProgressMode;
  progressStream?: NodeJS.WritableStream;
  /** Redraw the progress block on each emission instead of on its clock (tests). */
  progressTicks?: Observable<unknown>;
  /** Install a SIGINT handler for the duration of the run (the CLI sets this). */
  handleSigint?: boolean;
  /** Continue from the newest checkpoint of runDir (nodes read ctx.resume). */
  resume?: boolean;
  /** Plan without training (nodes read ctx.dryRun). */
  dryRun?: boolean;
  /** The --set arguments, recorded with the leg in legs.jsonl. */
  overrides?: string[];
  /** Differences from the first leg that --resume-changed accepted (checkResume), recorded with the leg. */
  resumeChanges?: FieldChange[];
  /** How long an interrupted or failed run may take to drain before the pool is stopped. */
  drainTimeoutMs?: number;
}

export type RunStatus = 'completed' | 'interrupted' | 'failed';

export interface RunResult {
  status: RunStatus;
  runDir: string;
  /** The run's error when status is 'failed' (a NodeFailed: .node, .index, .cause). */
  error?: Error;
  /** Nodes still running when the drain timed out (the CLI should then exit explicitly). */
  unfinished: string[];
  stats: { elapsedMs: number; nodes: NodeStats[]; rejected: number };
}

/**
 * Process exit status for a run: 0 completed, 130 interrupted (as after SIGINT), 2 when a node refused its work
 * before starting it (RefusedBeforeWork: the settings cannot work, like an invalid pipeline), 1 failed.
 */
export function exitCodeFor(result: RunResult): number {
  if (result.status === 'completed') return 0;
  if (result.status === 'interrupted') return 130;
  return (result.error as NodeFailed | undefined)?.cause instanceof RefusedBeforeWork ? 2 : 1;
}

export async function runPipeline(p: ResolvedPipeline, opts: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const runDir = opts.runDir ? path.resolve(opts.runDir) : makeRunDir(p.settings.outputDir, p.name);
  // The run folder itself; a failure to make it (a read-only or full disk) names the path.
  asRunFolderError(runDir, () => mkdirSync(runDir, { recursive: true }));
  // One leg at a time in a run folder (RunFolderLocked names the holder): taken before anything is written there.
  const lock = acquireRunLock(runDir);
  try {
    return await runLeg(p, opts, runDir, started, lock);
  } finally {
    lock.release();
  }
}

async function runLeg(p: ResolvedPipeline, opts: RunOptions, runDir: string, started: number, lock: RunLock): Promise<RunResult> {
  // The run folder's own files; a failure to write them (a read-only or full disk) names the path.
  // pipeline.json is the first leg's: a resumed leg is compared with it (checkResume), never rewrites it.
  const record = !opts.resume || !readPipelineRecord(runDir) ? await pipelineRecord(p) : undefined;
  const { leg, events } = asRunFolderError(runDir, () => {
    if (record) writePipelineRecord(runDir, record);
    const leg = startLeg(runDir, { resume: Boolean(opts.resume), dryRun: Boolean(opts.dryRun), overrides: opts.overrides, changes: opts.resumeChanges });
    return { leg, events: new EventBus([path.join(runDir, 'events.jsonl'), ...(opts.logFile ? [opts.logFile] : [])], opts.events) };
  });
  if (lock.tookOver) events.emitOwn({ type: 'warning', message: `took over the run folder's lock from a leg that is no longer running (${formatHolder(lock.tookOver)})` });
  // A leg killed mid-write left temp files and folders (adapter.tmp-*, step-N.tmp-*): only this
  // project's temp names, only inside this run folder, and only now that this leg holds the lock.
  if (opts.resume) {
    const removed = await removeLeftoverTemps(runDir);
    if (removed.length) events.emitOwn({ type: 'leftovers-removed', runDir, paths: removed });
  }
  const pool = new RunPool({ threads: p.settings.workers, nodes: workerSpecs(p) });
  const rejectsFile = path.join(runDir, 'rejects.jsonl');
  const exec = new Executor({
    pipeline: p,
    runDir,
    pool,
    events,
    edgeBuffer: Math.max(1, p.settings.edgeBuffer),
    resume: Boolean(opts.resume),
    dryRun: Boolean(opts.dryRun),
    reject(node, index, item, error) {
      const e = error instanceof Error ? error : new Error(String(error));
      // Synchronous append: rejects are rare, and each line must survive a crash right after.
      appendSync(rejectsFile, JSON.stringify({ time: new Date().toISOString(), node, index, error: e, item }, jsonSafe) + '\n');
      events.emitOwn({ type: 'reject', node, index, message: e.message });
    },
  });

  let forced!: () => void;
  const force = new Promise<'forced'>((resolve) => (forced = () => resolve('forced')));
  const interrupt = (why: string) => {
    if (exec.haltedBy) return;
    events.emitOwn({ type: 'interrupt', reason: why });
    exec.interrupt();
  };
  const onAbort = () => interrupt('signal');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (sigints === 1) interrupt('SIGINT');
    else forced();
  };
  if (opts.handleSigint) process.on('SIGINT', onSigint);

  // A halted run (interrupt or failure) gets a bounded time to drain.
  let drainTimer: NodeJS.Timeout | undefined;
  const drained = new Promise<'timeout'>((resolve) => {
    exec.halt.signal.addEventListener('abort', () => {
      drainTimer = setTimeout(() => resolve('timeout'), opts.drainTimeoutMs ?? 10_000);
    }, { once: true });
  });

  const progress = startProgress(opts.progress ?? 'none', () => exec.snapshot(), { stream: opts.progressStream, ticks: opts.progressTicks });
  const ticks = interval(1000).subscribe((i) => {
    exec.checkStalls();
    if (i % 5 === 4) events.emitOwn({ type: 'progress', nodes: exec.snapshot() });
  });
  if (opts.signal?.aborted) onAbort();

  let setupError: unknown;
  let outcome: 'done' | 'timeout' | 'forced' = 'done';
  try {
    outcome = await Promise.race([exec.run().then(() => 'done' as const), drained, force]);
  } catch (error) {
    setupError = error;
  } finally {
    clearTimeout(drainTimer);
    ticks.unsubscribe();
    progress.stop();
    opts.signal?.removeEventListener('abort', onAbort);
    if (opts.handleSigint) process.off('SIGINT', onSigint);
    if (outcome === 'done') await pool.close();
    else await pool.destroy();
  }
  if (setupError) {
    endLeg(runDir, leg, 'failed');
    await events.close();
    throw setupError;
  }

  const nodes = exec.snapshot();
  const unfinished = outcome === 'done' ? [] : exec.unfinished();
  const status: RunStatus = exec.failure ? 'failed' : exec.haltedBy === 'interrupt' ? 'interrupted' : 'completed';
  const result: RunResult = {
    status,
    runDir,
    error: exec.failure ?? undefined,
    unfinished,
    stats: { elapsedMs: Math.round(performance.now() - started), nodes, rejected: nodes.reduce((a, n) => a + n.rejected, 0) },
  };
  if (unfinished.length > 0) events.emitOwn({ type: 'drain-timeout', unfinished });
  events.emitOwn({ type: 'run-end', status, elapsedMs: result.stats.elapsedMs, nodes, error: exec.failure ? errorJson(exec.failure) : undefined });
  await events.close();
  endLeg(runDir, leg, status);
  return result;
}

function errorJson(e: NodeFailed) {
  const cause = e.cause as Error | undefined;
  return { message: e.message, node: e.node, index: e.index, stack: cause?.stack ?? e.stack };
}

/** `${outputDir}/${name}-YYYYMMDD-HHMMSS`, with -2, -3... if two runs start within a second. */
export function makeRunDir(outputDir: string, name: string): string {
  const d = new Date();
  const p2 = (x: number) => String(x).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p2(d.getMonth() + 1)}${p2(d.getDate())}-${p2(d.getHours())}${p2(d.getMinutes())}${p2(d.getSeconds())}`;
  const base = path.resolve(outputDir, `${name}-${stamp}`);
  let dir = base;
  for (let k = 2; existsSync(dir); k++) dir = `${base}-${k}`;
  asRunFolderError(dir, () => mkdirSync(dir, { recursive: true }));
  return dir;
}

/** Runs `f`, turning a system error into an IoFailed that names the path (or the run folder). */
function asRunFolderError<T>(runDir: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw asIoFailed(e, (e as NodeJS.ErrnoException).path ? undefined : runDir);
  }
}

function workerSpecs(p: ResolvedPipeline): Record<string, WorkerNodeSpec> {
  const specs: Record<string, WorkerNodeSpec> = {};
  for (const n of p.nodes) {
    if (n.def.placement !== 'worker') continue;
    const valueInputs = Object.entries(n.def.inputs).filter(([k, s]) => s.kind === 'value' && n.from[k]).map(([k]) => k);
    specs[n.name] = { modulePath: n.modulePath, exportName: n.exportName, params: n.params, valueInputs };
  }
  return specs;
}
