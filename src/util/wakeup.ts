// The wait of a pull loop for a callback to have something: the loop awaits wait(), a callback
// (a settled task, an operator's emission) calls notify(). One waiter at a time; a notify with no
// one waiting does nothing, so the loop checks its state before waiting again.
export class Wakeup {
  private resolve: (() => void) | null = null;

  wait(): Promise<void> {
    return new Promise<void>((r) => (this.resolve = r));
  }

  notify(): void {
    const r = this.resolve;
    this.resolve = null;
    r?.();
  }
}
