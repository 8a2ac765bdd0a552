// From a model folder and the extended tokenizer to a ready Trainer: initial rows of the new
// tokens (src/tokenizer/init.ts), ids of existing tokens named for retraining, optional resume.
import type { TokenizerArtifact } from '../tokenizer/items.ts';
import { AdapterMismatch } from '../errors.ts';
import { tensorRows, type FrozenTokenTable, type LlamaModel } from '../model/weights.ts';
import { acquireFrozenModel } from './frozen-models.ts';
import { loadTokenizer } from '../tokenizer/load.ts';
import { initNewRows, initReport, newTokensOf } from '../tokenizer/init.ts';
import { latestCheckpoint, loadCheckpoint, removeStaleTemps } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import { createTrainer, restoreTrainer, type Trainer } from './trainer.ts';

export interface SetupOptions {
  model: string;
  tokenizer: TokenizerArtifact;
  cfg: TrainConfig;
  seed: number;
  /** Row init method for new tokens (subtoken-mean, mean, zero, random, copy:<token>). */
  init: string;
  /** Existing tokens (by their string in the extended tokenizer) also retrained. */
  retrainTokens: string[];
  checkpointRoot: string;
  /** Continue from the newest complete checkpoint under checkpointRoot (or this folder). */
  resume: boolean | string;
  /** The engine (src/model/backend.ts BackendName): the frozen weights are shared per model folder and engine (frozen-models.ts). */
  backend: string;
}

export interface SetupResult {
  trainer: Trainer;
  /** Train batches a resumed run skips. */
  skip: number;
  resumedFrom?: string;
}

export async function setupTrainer(o: SetupOptions): Promise<SetupResult> {
  const shared = await acquireFrozenModel(o.model, o.backend);
  try {
    const r = await setupOn(shared.model, o);
    r.trainer.release = shared.release;
    // 'full' copied the base rows into its own [V, H] variables: the frozen table is not needed (unless another user reads it).
    if (o.cfg.embedding === 'full') shared.releaseTokens();
    return r;
  } catch (e) {
    shared.release();
    throw e;
  }
}

async function setupOn(model: LlamaModel, o: SetupOptions): Promise<SetupResult> {
  const base = model.tokens as FrozenTokenTable;
  const V0 = base.vocabSize;
  // Old rows for the init methods, read on demand (a few rows, or a streamed mean): never the whole matrix in JS.
  const embed = tensorRows(base.rows ?? base.head);
  const head = base.tied ? undefined : tensorRows(base.head);
  const baseTokenizer = loadTokenizer(o.model);
  const newTokens = newTokensOf(o.tokenizer);
  const H = model.config.hiddenSize;
  const init = initNewRows({ embed, head, D: H, baseTokenizer, newTokens, method: o.init, seed: o.seed });
  const extended = loadTokenizer(o.tokenizer);
  const retrainIds = o.retrainTokens.map((s) => {
    const id = extended.tokenToId(s);
    if (id === undefined || id >= V0) throw new AdapterMismatch(`retrainTokens: ${JSON.stringify(s)} is not an existing token of the base vocabulary`);
    return id;
  });
  const trainer = createTrainer(model, o.cfg, {
    newTokenIds: o.tokenizer.newTokenIds, newTokens: o.tokenizer.newTokens, embedRows: init.embedRows, headRows: init.headRows, retrainIds,
  }, o.seed);
  trainer.describeInit = (loss) => initReport(baseTokenizer, newTokens, init, H, loss);
  await removeStaleTemps(o.checkpointRoot);
  if (o.resume === false) return { trainer, skip: 0 };
  const dir = typeof o.resume === 'string' ? o.resume : (await latestCheckpoint(o.checkpointRoot))?.dir;
  if (!dir) return { trainer, skip: 0 };
  const ck = await loadCheckpoint(dir);
  restoreTrainer(trainer, ck);
  return { trainer, skip: Number(ck.state.data.consumed ?? 0), resumedFrom: dir };
}
