// The run's event stream: one RxJS Subject every part of the run emits into (executor,
// nodes through ctx.events, progress). Subscribers: the JSON-lines log (<runDir>/events.jsonl
// and `--log FILE`), the progress display, and the caller's own RunEvents if given.
//
// Events are one discriminated union on `type`, composed without an upward import: the
// framework declares its own events here (FrameworkEvent) and accepts any BaseEvent; each
// library declares the events of its domain next to its code (src/data/events.ts,
// src/tokenizer/events.ts, src/train/events.ts); nodes/_events.ts, which sees both, joins
// them into the union the built-in nodes emit and `pipe run` reads.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { Subject } from 'rxjs';
import type { NodeStats, NodeStatus } from './executor.ts';
import type { RunEvents } from './node.ts';

/** What the framework needs of an event: a type, and the node it came from (added for node events). */
export type BaseEvent = { type: string; node?: string };

/** As written to events.jsonl: the event with the time it was emitted (ISO). */
export type Logged<E extends BaseEvent = BaseEvent> = E & { time: string };

/** The events the framework itself emits: the executor, the run and its interrupt handling. */
export type FrameworkEvent =
  | { type: 'run-start'; name: string; runDir: string; nodes: string[] }
  | { type: 'node-start'; node: string; placement: 'main' | 'worker' }
  | { type: 'node-end'; node: string; status: NodeStatus; in: number; out: number; rejected: number; ms?: number }
  /** The run's first failure (it halts the run), then any failure after it. */
  | { type: 'node-failed' | 'node-error'; node: string; index?: number; message: string; error: unknown }
  /** A fan-out that waited on its slowest consumer for a long time. */
  | { type: 'edge-stalled'; edge: string; waitingOn: string; seconds: number; hint: string }
  /** An item sent to rejects.jsonl (onError: reject). */
  | { type: 'reject'; node: string; index?: number; message: string }
  | { type: 'interrupt'; reason: string }
  | { type: 'progress'; nodes: NodeStats[] }
  | { type: 'drain-timeout'; unfinished: string[] }
  | { type: 'run-end'; status: 'completed' | 'interrupted' | 'failed'; elapsedMs: number; nodes: NodeStats[]; error?: { message: string; node: string; index?: number; stack?: string } }
  /** A node's end-of-run text: `pipe run` prints it on stdout after the run. */
  | { type: 'summary'; text: string }
  | { type: 'warning'; message: string }
  /** Temp files and folders a killed leg left in the run folder, removed as a resumed leg starts (relative to runDir). */
  | { type: 'leftovers-removed'; runDir: string; paths: string[] };

export class EventBus implements RunEvents {
  readonly events$ = new Subject<Logged>();
  private readonly streams: WriteStream[] = [];

  /** `files`: JSON-lines files to append every event to; `forward`: the caller's sink. */
  constructor(files: string[], forward?: RunEvents) {
    for (const f of files) {
      mkdirSync(path.dirname(f), { recursive: true });
      const s = createWriteStream(f, { flags: 'a' });
      // A log file that fails (disk full) must not take the run down with it.
      s.on('error', () => {});
      this.streams.push(s);
    }
    if (forward) this.events$.subscribe((e) => forward.emit(e));
  }

  emit<E extends BaseEvent>(event: E): void {
    const e: Logged = { ...event, time: new Date().toISOString() };
    if (this.streams.length > 0) {
      const line = JSON.stringify(e, jsonSafe) + '\n';
      for (const s of this.streams) s.write(line);
    }
    this.events$.next(e);
  }

  /** The framework's own events: the same stream, checked against FrameworkEvent. */
  emitOwn(event: FrameworkEvent): void {
    this.emit(event);
  }

  /** Scoped emitter for one node: adds `node` to every event. */
  forNode(node: string): RunEvents {
    return { emit: (event) => this.emit({ ...event, node }) };
  }

  async close(): Promise<void> {
    this.events$.complete();
    await Promise.all(this.streams.map((s) => new Promise<void>((resolve) => s.end(resolve))));
  }
}

/** JSON.stringify replacer: errors, bigints and typed arrays become readable JSON. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack, code: (value as { code?: unknown }).code };
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const arr = value as unknown as ArrayLike<number>;
    return Array.from(arr.length > 1000 ? Array.prototype.slice.call(arr, 0, 1000) : arr, Number);
  }
  if (value instanceof ArrayBuffer) return { byteLength: value.byteLength };
  return value;
}
