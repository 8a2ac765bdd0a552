// Progress display: one line per node with items in/out, output rate and queue depth, or the
// node's own status line when it published one (ctx.status: the train node's step/total and ETA).
// On a TTY the block of lines is redrawn in place; otherwise plain lines are printed at a
// modest interval so a CI log stays readable.
import { interval, type Observable, type Subscription } from 'rxjs';
import type { NodeStats } from './executor.ts';

export type ProgressMode = 'tty' | 'plain' | 'none';

export interface ProgressOptions {
  stream?: NodeJS.WritableStream;
  /** Redraw interval on a TTY (ms). */
  ttyIntervalMs?: number;
  /** Interval between plain blocks (ms). */
  plainIntervalMs?: number;
  /** Redraw on each emission instead of on a clock (tests drive the redraws with a Subject). */
  ticks?: Observable<unknown>;
}

export interface Progress {
  /** Stops updates and prints the final state (unless mode is 'none'). */
  stop(): void;
}

/** 'tty' for an interactive terminal, else 'plain'. */
export function defaultProgressMode(stream: NodeJS.WritableStream = process.stderr): ProgressMode {
  return (stream as NodeJS.WriteStream).isTTY ? 'tty' : 'plain';
}

export function startProgress(mode: ProgressMode, sample: () => NodeStats[], opts: ProgressOptions = {}): Progress {
  if (mode === 'none') return { stop() {} };
  const stream = opts.stream ?? process.stderr;
  const started = performance.now();
  const rates = new RateMeter(started);
  let drawn = 0;

  const render = (final: boolean) => {
    const nodes = sample();
    const now = performance.now();
    const lines = formatLines(nodes, rates.update(nodes, now), now - started);
    if (mode === 'tty') {
      // Back to the first line of the previous block, then overwrite each line.
      let out = drawn > 0 ? `\x1b[${drawn}F` : '';
      for (const l of lines) out += `\x1b[2K${l}\n`;
      stream.write(out);
      drawn = lines.length;
    } else if (final || lines.length > 0) {
      stream.write(lines.join('\n') + '\n');
    }
  };

  const ticks = opts.ticks ?? interval(mode === 'tty' ? (opts.ttyIntervalMs ?? 250) : (opts.plainIntervalMs ?? 10_000));
  const sub: Subscription = ticks.subscribe(() => render(false));
  return {
    stop() {
      sub.unsubscribe();
      render(true);
    },
  };
}

/** Output rate per node over the last interval (since the start for the first sample). */
class RateMeter {
  private last = new Map<string, { items: number; t: number; rate: number }>();
  constructor(private readonly started: number) {}
  update(nodes: NodeStats[], now: number): Map<string, number> {
    const rates = new Map<string, number>();
    for (const n of nodes) {
      // Items handled: what a node yields, or for a sink what it takes.
      const items = Math.max(n.in, n.out);
      const prev = this.last.get(n.name) ?? { items: 0, t: this.started, rate: 0 };
      const dt = (now - prev.t) / 1000;
      const rate = dt > 0.05 ? (items - prev.items) / dt : prev.rate;
      this.last.set(n.name, { items, t: now, rate });
      rates.set(n.name, rate);
    }
    return rates;
  }
}

const num = (x: number) => Math.round(x).toLocaleString('en-US');

/** Fixed-width lines, one per node (its counts, or its own status line), after a header with elapsed time. */
export function formatLines(nodes: NodeStats[], rates: Map<string, number>, elapsedMs: number): string[] {
  const w = Math.max(4, ...nodes.map((n) => n.name.length));
  const head = `[${(elapsedMs / 1000).toFixed(1)}s]`;
  return [
    head,
    ...nodes.map((n) => {
      if (n.line !== undefined && !n.beside) return `  ${n.name.padEnd(w)}  ${n.status.padEnd(9)} ${n.line}`;
      const rej = n.rejected > 0 ? `  rejected ${num(n.rejected)}` : '';
      return (
        `  ${n.name.padEnd(w)}  ${n.status.padEnd(9)} in ${num(n.in).padStart(11)}  out ${num(n.out).padStart(11)}` +
        `  ${num(rates.get(n.name) ?? 0).padStart(9)}/s  queue ${num(n.queue).padStart(5)}${rej}${n.line !== undefined ? `  ${n.line}` : ''}`
      );
    }),
  ];
}
