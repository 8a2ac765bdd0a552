// Where evaluators tell a train node's watchdog their eval losses (its collapse test compares the last
// with step 0's, src/train/watchdog.ts): numbers posted under the train node's id (TrainRun.id), read by
// the train loop when it judges its next update. Not an edge: nothing waits on it, and a loss posted
// when no train node listens (it has ended) is dropped. With one reader on the state edge the loop is
// suspended until the evaluator asks for the next snapshot, so the loss is heard before the next update.
type Listener = (step: number, loss: number) => void;

const listeners = new Map<string, Listener>();

/** Hears the eval losses posted for `id` until the returned function is called. */
export function listenEvals(id: string, f: Listener): () => void {
  listeners.set(id, f);
  return () => {
    if (listeners.get(id) === f) listeners.delete(id);
  };
}

/** An evaluation of train node `id`'s weights at `step`. */
export function postEval(id: string, step: number, loss: number): void {
  listeners.get(id)?.(step, loss);
}
