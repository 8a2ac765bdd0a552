// The one union of a run's events: the framework's own (src/pipeline/events.ts) and each library's
// (src/data, src/tokenizer, src/train: events.ts), joined here, where the framework meets the
// library; the framework itself accepts any event with a `type`. Built-in nodes emit through
// `emit(ctx, event)`, so every event they write is a member of the union; `pipe run` reads events
// through `isEvent`. A user node's own events (any other `type`) still go to events.jsonl.
// ('_' in front: not a node; see src/pipeline/registry.ts.)
import type { BaseEvent, FrameworkEvent } from '../src/pipeline/events.ts';
import type { RunEvents } from '../src/pipeline/node.ts';
import type { DataEvent } from '../src/data/events.ts';
import type { TokenizerEvent } from '../src/tokenizer/events.ts';
import type { TrainEvent } from '../src/train/events.ts';

/** Every event of a run of built-in nodes; `node` names the emitting node (the bus adds it for node events). */
export type RunEvent = (FrameworkEvent | DataEvent | TokenizerEvent | TrainEvent) & { node?: string };

/** Every `type` of the union, at run time; the compiler checks the list against the union both ways. */
export const RUN_EVENT_TYPES = Object.keys({
  'run-start': 1, 'node-start': 1, 'node-end': 1, 'node-failed': 1, 'node-error': 1, 'edge-stalled': 1, reject: 1,
  interrupt: 1, progress: 1, 'drain-timeout': 1, 'run-end': 1, summary: 1, warning: 1, 'leftovers-removed': 1,
  'corpus-pass': 1, 'corpus-summary': 1, 'pack-summary': 1,
  'token-discovery': 1, mining: 1, 'tokenizer-extension': 1,
  'train-start': 1, 'train-step': 1, 'train-diverged': 1, 'memory-plan': 1, 'data-plan': 1, eval: 1, checkpoint: 1, adapter: 1,
} satisfies Record<RunEvent['type'], 1>) as Array<RunEvent['type']>;

/** ctx.events.emit, checked against the union. */
export function emit(ctx: { events: RunEvents }, event: RunEvent): void {
  ctx.events.emit(event);
}

/** Narrows any event (from the bus, or a line of events.jsonl) to the union's member of that type. */
export function isEvent<T extends RunEvent['type']>(e: BaseEvent, type: T): e is Extract<RunEvent, { type: T }> {
  return e.type === type;
}
