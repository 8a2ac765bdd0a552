// The two ends of an edge as the executor sees them.
//
// OutputPort wraps what a node produced on one output: it counts items, maps errors to the
// node's NodeFailed, stops a source once the run is halted, and knows when the output has
// ended (exhausted, failed or closed by its consumer). It is pulled by exactly one reader:
// the consumer itself, a tee, a value edge or a drain.
//
// InputReader is what a consumer node iterates: it counts items taken (the node's item
// index for error reports) and can be detached when the node is done, so an upstream tee
// stops waiting for it.

export interface OutputHooks {
  onItem(): void;
  /** Maps a failure of the producer to the error downstream sees (and records it). */
  wrapError(error: unknown): unknown;
  /** Once aborted, the port ends instead of pulling more (sources stop on SIGINT). */
  stopWhen?: AbortSignal;
}

export class OutputPort<T> implements AsyncIterableIterator<T> {
  private it: AsyncIterator<T> | null = null;
  private isEnded = false;
  private resolveEnded!: () => void;
  /** Resolves when the output has ended, however it ended. */
  readonly ended = new Promise<void>((resolve) => {
    this.resolveEnded = resolve;
  });

  constructor(
    private readonly source: Promise<AsyncIterable<T>>,
    private readonly hooks: OutputHooks,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<T>> {
    if (this.isEnded) return { done: true, value: undefined };
    if (this.hooks.stopWhen?.aborted) {
      this.stop();
      return { done: true, value: undefined };
    }
    try {
      this.it ??= (await this.source)[Symbol.asyncIterator]();
      const r = await this.it.next();
      if (r.done) this.end();
      else this.hooks.onItem();
      return r;
    } catch (error) {
      const wrapped = this.hooks.wrapError(error);
      this.end();
      throw wrapped;
    }
  }

  async return(): Promise<IteratorResult<T>> {
    if (!this.isEnded) {
      this.end();
      try {
        await this.it?.return?.();
      } catch {
        // The consumer is gone; a failure while closing the producer has nobody to tell.
      }
    }
    return { done: true, value: undefined };
  }

  /** Ends without waiting: a source may be mid-await (a timer, a read), its return() would block. */
  private stop(): void {
    if (this.isEnded) return;
    this.end();
    this.it?.return?.().catch(() => {});
  }

  private end(): void {
    this.isEnded = true;
    this.resolveEnded();
  }
}

export class InputReader<T> implements AsyncIterable<T> {
  private it: AsyncIterator<T> | null = null;
  private detached = false;
  /** Called per item taken; the executor sets it to count the consumer's items. */
  onItem: () => void = () => {};

  constructor(
    private readonly source: AsyncIterable<T>,
    /** Called to release the edge when the consumer is done with it. */
    private readonly release: () => void,
    /** Items waiting on this edge for the consumer (0 for a direct edge). */
    readonly depth: () => number = () => 0,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<T> {
    // Plain promise chains, not async functions: this sits on the per-item path.
    const countItem = (r: IteratorResult<T>) => {
      if (!r.done) this.onItem();
      return r;
    };
    return {
      next: () => {
        if (this.detached) return Promise.resolve({ done: true, value: undefined });
        this.it ??= this.source[Symbol.asyncIterator]();
        return this.it.next().then(countItem);
      },
      return: () => {
        this.detach();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.release();
  }
}
