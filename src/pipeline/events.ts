// The run's event stream: one RxJS Subject every part of the run emits into (executor,
// nodes through ctx.events, progress). Subscribers: the JSON-lines log (<runDir>/events.jsonl
// and `--log FILE`), the progress display, and the caller's own RunEvents if given.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { Subject } from 'rxjs';
import type { RunEvents } from './node.ts';

export interface RunEvent {
  type: string;
  node?: string;
  /** ISO time the event was emitted. */
  time: string;
  [k: string]: unknown;
}

export class EventBus implements RunEvents {
  readonly events$ = new Subject<RunEvent>();
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

  emit(event: { type: string; node?: string; [k: string]: unknown }): void {
    const e: RunEvent = { ...event, time: new Date().toISOString() };
    if (this.streams.length > 0) {
      const line = JSON.stringify(e, jsonSafe) + '\n';
      for (const s of this.streams) s.write(line);
    }
    this.events$.next(e);
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
