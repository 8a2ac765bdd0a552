// Fan-out of one output to several consumers, pull-based.
//
// Stream edges: every consumer (branch) sees every item. The source is pulled only when a
// branch at the head asks for a new item and the slowest active branch lags by less than
// `bufferSize`, so the items held for an edge never exceed bufferSize and the slowest
// consumer sets the pace. A branch whose node has finished is detached so it stops holding
// the others back.
//
// Value edges: the first item is kept and replayed to every consumer, however late it comes.
import { ValueEdgeInvalid } from '../errors.ts';

export interface Branch<T> extends AsyncIterable<T> {
  /** Stop holding items for this branch (its consumer is gone). */
  detach(): void;
  /** Items buffered for this branch (pulled from the source, not yet taken). */
  readonly depth: number;
}

export interface TeeStats {
  pulled: number;
  /** performance.now() since which some branch waits on a full buffer; null when none. */
  blockedSince: number | null;
  /** Index of the branch that holds the buffer full (the slowest), when blocked. */
  slowest: number | null;
}

export function tee<T>(source: AsyncIterable<T>, n: number, bufferSize: number): { branches: Branch<T>[]; stats: TeeStats } {
  const size = Math.max(1, Math.floor(bufferSize));
  const it = source[Symbol.asyncIterator]();
  const stats: TeeStats = { pulled: 0, blockedSince: null, slowest: null };
  // items[off + k] is the item with absolute index base + k; dead slots before `off` are
  // compacted away in bulk so taking an item stays O(1).
  let items: Array<T | undefined> = [];
  let off = 0;
  let base = 0;
  const positions = new Array<number>(n).fill(0);
  const active = new Array<boolean>(n).fill(true);
  let pulling = false;
  let done = false;
  let failure: { error: unknown } | null = null;
  let waiters: Array<() => void> = [];
  const notifyAll = () => {
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  };
  const changed = () => new Promise<void>((resolve) => waiters.push(resolve));
  const head = () => base + items.length - off;

  const minActive = (): { pos: number; branch: number | null } => {
    let pos = Infinity;
    let branch: number | null = null;
    for (let i = 0; i < n; i++) {
      if (active[i] && positions[i] < pos) {
        pos = positions[i];
        branch = i;
      }
    }
    return { pos, branch };
  };

  const trim = () => {
    const { pos } = minActive();
    const drop = Math.min(head(), pos) - base;
    for (let k = 0; k < drop; k++) items[off + k] = undefined;
    off += drop;
    base += drop;
    if (off > 1024 && off * 2 > items.length) {
      items = items.slice(off);
      off = 0;
    }
  };

  const pull = () => {
    pulling = true;
    it.next().then(
      (r) => {
        pulling = false;
        if (r.done) done = true;
        else {
          items.push(r.value);
          stats.pulled++;
        }
        notifyAll();
      },
      (error) => {
        pulling = false;
        done = true;
        failure = { error };
        notifyAll();
      },
    );
  };

  const detach = (i: number) => {
    if (!active[i]) return;
    active[i] = false;
    trim();
    notifyAll();
    if (active.every((a) => !a) && !done) {
      done = true;
      const closing = it.return?.();
      closing?.catch(() => {});
    }
  };

  const next = async (i: number): Promise<IteratorResult<T>> => {
    while (true) {
      if (!active[i]) return { done: true, value: undefined };
      const pos = positions[i];
      if (pos < head()) {
        const value = items[off + pos - base] as T;
        positions[i]++;
        if (pos === base) trim();
        notifyAll();
        return { done: false, value };
      }
      if (failure) throw failure.error;
      if (done) return { done: true, value: undefined };
      const slow = minActive();
      if (!pulling && head() - slow.pos < size) {
        stats.blockedSince = null;
        stats.slowest = null;
        pull();
      } else if (!pulling) {
        stats.blockedSince ??= performance.now();
        stats.slowest = slow.branch;
      }
      await changed();
    }
  };

  const branches = Array.from({ length: n }, (_, i): Branch<T> => {
    const iterator: AsyncIterator<T> = {
      next: () => next(i),
      return: async () => {
        detach(i);
        return { done: true, value: undefined };
      },
    };
    return {
      [Symbol.asyncIterator]: () => iterator,
      detach: () => detach(i),
      get depth() {
        return active[i] ? head() - positions[i] : 0;
      },
    };
  });
  return { branches, stats };
}

export interface ValueEdge<T> {
  /** One AsyncIterable per consumer; each yields the value once. */
  reader(): AsyncIterable<T>;
  /** Resolves with the value; rejects if the producer fails or ends without one. */
  value: Promise<T>;
  /** Resolves when the producer's iterable is exhausted (it may work on after the value). */
  finished: Promise<void>;
}

/**
 * Drains `source` to its end in the background: the first item is the value; a second item
 * is an error (`describe` names the edge). Draining, not return(), lets a producer finish
 * work it does after yielding the value (writing files). `wrapError` maps any failure (the
 * producer's or the edge's) to the error readers get.
 */
export function valueEdge<T>(
  source: AsyncIterable<T>,
  describe: string,
  wrapError: (error: unknown) => unknown = (e) => e,
): ValueEdge<T> {
  let resolveValue!: (v: T) => void;
  let rejectValue!: (e: unknown) => void;
  const value = new Promise<T>((res, rej) => {
    resolveValue = res;
    rejectValue = rej;
  });
  value.catch(() => {});
  const finished = (async () => {
    let count = 0;
    try {
      for await (const item of source) {
        if (count === 0) resolveValue(item);
        else throw new ValueEdgeInvalid(describe, 'yielded more than one item');
        count++;
      }
      if (count === 0) throw new ValueEdgeInvalid(describe, 'ended without a value');
    } catch (error) {
      // Mapped once, before anyone sees it, so every reader gets the same error object.
      const wrapped = wrapError(error);
      rejectValue(wrapped);
      throw wrapped;
    }
  })();
  finished.catch(() => {});
  return {
    value,
    finished,
    reader: () => ({
      async *[Symbol.asyncIterator]() {
        yield await value;
      },
    }),
  };
}
