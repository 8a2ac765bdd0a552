// RxJS operators as nodes: the bridge between the pull-based edges and a push-based operator.
//
// An operator node gives `operator(params, ctx)`, which returns `(in$) => out$` (node.ts). RxJS
// pushes: `from(asyncIterable)` drains its source as fast as it can and operators keep whatever
// arrives (anchors-pipeline-style.md §1.2), so the bridge does not hand the input edge to RxJS. It reads the edge
// itself, one item at a time, and pushes that item into in$ only when the node's reader asks for
// an output and none is waiting; what out$ emits goes into a buffer the reader takes from.
//
// The bound. An operator that answers each item synchronously (it emits it, drops it, or holds
// it by count: map, filter, scan, bufferCount, pairwise, take, distinct...) leaves in the buffer
// at most what one input item made: one item for map, none for a dropped one, a group for
// bufferCount. So the node holds what a main node's generator holds, and a slow reader slows the
// source as through any other node. An operator that answers later (delay, bufferTime, concatMap
// over promises) is fed while the reader waits, `bound` items per turn of the event loop so its
// timers and promises get to run; what it holds meanwhile is its own, as bufferCount's partial
// group is. An operator that expands one item into many (mergeMap to an array) buffers them all.
//
// Ends. The input ending completes in$ (the operator flushes: bufferCount emits its last partial
// group), which is how Ctrl-C reaches it: sources stop, items in flight drain. out$ completing
// ends the output and releases the input (take(n) stops an endless source). out$ erroring fails
// the node; an upstream failure is passed into in$ as an error, so it arrives the same way. The
// reader leaving early unsubscribes. The reader pulls one item at a time, as every edge does.
import { Subject, type OperatorFunction, type Subscription } from 'rxjs';
import { Wakeup } from '../util/wakeup.ts';

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** The operator's output as an AsyncIterator that pulls `input` only on demand (see above). */
export function bridgeOperator<A, B>(input: AsyncIterable<A>, op: OperatorFunction<A, B>, bound: number): AsyncIterableIterator<B> {
  const in$ = new Subject<A>();
  const out: B[] = [];
  let state: 'idle' | 'open' | 'complete' | 'failed' | 'closed' = 'idle';
  let error: unknown;
  let sub: Subscription | undefined;
  let it: AsyncIterator<A> | undefined;
  let inputEnded = false;
  /** Ends the reader's wait for an emission (an operator that answers later). */
  const wakeup = new Wakeup();
  const notify = () => wakeup.notify();

  const subscribe = () => {
    state = 'open';
    sub = op(in$.asObservable()).subscribe({
      next: (b) => {
        out.push(b);
        notify();
      },
      error: (e) => {
        if (state !== 'open') return;
        state = 'failed';
        error = e;
        notify();
      },
      complete: () => {
        if (state === 'open') state = 'complete';
        notify();
      },
    });
  };

  /** Lets go of the input edge (its producer stops waiting for this reader). */
  const releaseInput = async () => {
    if (inputEnded) return;
    inputEnded = true;
    try {
      await it?.return?.();
    } catch {
      // The input is being abandoned; a failure while closing it has nobody to tell.
    }
  };

  /** Pushes the next input item into in$ (or its end, or its failure). */
  const feed = async () => {
    it ??= input[Symbol.asyncIterator]();
    let r: IteratorResult<A>;
    try {
      r = await it.next();
    } catch (e) {
      inputEnded = true;
      in$.error(e);
      return;
    }
    if (r.done) {
      inputEnded = true;
      in$.complete();
    } else {
      in$.next(r.value);
    }
  };

  const bridge: AsyncIterableIterator<B> = {
    [Symbol.asyncIterator]() {
      return bridge;
    },
    async next(): Promise<IteratorResult<B>> {
      if (state === 'idle') subscribe();
      // Items fed since the reader asked and nothing came out: a dropping or a slow operator.
      let silent = 0;
      for (;;) {
        if (out.length > 0) return { done: false, value: out.shift()! };
        if (state === 'failed') {
          state = 'closed';
          await releaseInput();
          throw error;
        }
        if (state === 'complete' || state === 'closed') {
          state = 'closed';
          await releaseInput();
          return DONE;
        }
        if (inputEnded) {
          // Input done, the operator still working (timers, promises): wait for what it emits.
          await wakeup.wait();
        } else if (silent >= bound) {
          // Let the event loop run the operator's timers and promises before feeding more.
          silent = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        } else {
          await feed();
          silent++;
        }
      }
    },
    async return(): Promise<IteratorResult<B>> {
      state = 'closed';
      out.length = 0;
      sub?.unsubscribe();
      await releaseInput();
      return DONE;
    },
  };
  return bridge;
}
