// The frozen base models of a process, shared by the nodes that read them: the train node and its
// evaluators hold one copy of a model's weights, keyed by model folder and engine. Not an edge item:
// the frozen weights never change, so a node takes them from here; the trainable tensors travel on
// the edges, in snapshots (src/train/items.ts). Counted: the last user to give a model back frees it.
import path from 'node:path';
import { disposeModel, FrozenTokenTable, frozenFor, loadModel, type LlamaModel } from '../model/weights.ts';

interface Entry {
  model: Promise<LlamaModel>;
  users: number;
  /** Users that read the base token table; at 0 it is freed (a 'full' run copies it into its own). */
  tokenUsers: number;
  tokensFreed: boolean;
}

const models = new Map<string, Entry>();

export interface SharedModel {
  /**
   * The frozen model as a view of one's own: no adapters, and a token table that is borrowed (its dispose()
   * frees nothing), so the user may swap in a trainable table (trainer.ts attachTrainable) and dispose that.
   */
  model: LlamaModel;
  /** Gives the base token table back (once): a user that copied it (a 'full' table) frees V x H floats this way. */
  releaseTokens(): void;
  /** Gives the model back (once; later calls do nothing). */
  release(): void;
}

/** A frozen token table whose tensors belong to someone else. */
class BorrowedTokenTable extends FrozenTokenTable {
  override dispose(): void {}
}

/**
 * The model in `dir` on `backend` (a TF.js backend name, or 'native'), loaded by the first caller. `tokens: false`:
 * the caller reads no base token table (the view's is then unusable); a caller that needs it never gets an entry
 * whose table was freed (a fresh copy is loaded instead).
 */
export async function acquireFrozenModel(dir: string, backend: string, o: { tokens?: boolean } = {}): Promise<SharedModel> {
  const tokens = o.tokens ?? true;
  const key = `${backend}\0${path.resolve(dir)}`;
  let e = models.get(key);
  if (!e || (tokens && e.tokensFreed)) {
    // The native engine's frozen weights live in one file ONNX Runtime maps, none on TF.js (weights-disk.ts).
    const entry: Entry = { model: loadModel(dir, { frozen: frozenFor(backend) }), users: 0, tokenUsers: 0, tokensFreed: false };
    entry.model.catch(() => models.get(key) === entry && models.delete(key));
    models.set(key, entry);
    e = entry;
  }
  const entry = e;
  entry.users++;
  if (tokens) entry.tokenUsers++;
  let model: LlamaModel;
  try {
    model = await entry.model;
  } catch (err) {
    entry.users--;
    if (tokens) entry.tokenUsers--;
    throw err;
  }
  const base = model.tokens as FrozenTokenTable;
  let holdsTokens = tokens;
  let released = false;
  const releaseTokens = () => {
    if (!holdsTokens) return;
    holdsTokens = false;
    if (--entry.tokenUsers > 0 || entry.tokensFreed) return;
    entry.tokensFreed = true;
    base.dispose();
  };
  return {
    model: { ...model, tokens: new BorrowedTokenTable(base.head, base.rows), adapters: undefined },
    releaseTokens,
    release() {
      if (released) return;
      released = true;
      releaseTokens();
      if (--entry.users > 0) return;
      if (models.get(key) === entry) models.delete(key);
      disposeModel(model); // the token table again when it was freed: disposing a tensor twice does nothing
    },
  };
}

/** Models held now (tests). */
export function frozenModelsHeld(): number {
  return models.size;
}
