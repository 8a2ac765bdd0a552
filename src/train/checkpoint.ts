// Checkpoint folders under <runDir>/checkpoints/: step-00000120/ holds the PEFT adapter files
// (loadable as they are), optimizer.safetensors (AdamW moments) and trainer_state.json (step,
// RNG state, data position, metrics). A folder is assembled as `step-N.tmp-*` and renamed, so a
// folder with a final name is always complete: a run killed mid-write leaves only a temp folder,
// which resume ignores and the next run removes. Retention keeps the last K plus the best by
// eval loss; index.json lists what is kept.
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CheckpointError } from '../errors.ts';
import { loadAdapter, writeAdapterFiles, type AdapterContents, type AdapterExtras, type LoadedAdapter } from '../adapter/peft.ts';
import { SafetensorsFile, writeSafetensors } from '../io/safetensors.ts';
import { tempPath, writeFileAtomic } from '../io/atomic.ts';
import { removeOwnedDir, replaceDir } from '../io/owned-dir.ts';
import type { AdamWState } from './optimizer.ts';
import type { RngState } from '../model/rng.ts';
import type { WatchdogState } from './watchdog.ts';

export interface TrainerState {
  format: 'tokenpipe-checkpoint/1';
  /** Optimizer updates done. */
  step: number;
  totalSteps: number;
  rng: RngState;
  /** Where the data stream stands (e.g. epoch and batch index), as the train node defines it. */
  data: Record<string, unknown>;
  /** Per-param AdamW step counts (the moments are in optimizer.safetensors). */
  optimizerSteps: Record<string, number>;
  /** Hash of the resolved training config: resuming under a different config is refused. */
  configHash: string;
  /** What the hash is of (absent in checkpoints of older runs): lets a refusal name the fields that differ. */
  config?: Record<string, unknown>;
  evalLoss?: number;
  metrics?: Record<string, number>;
  /** The watchdog's reference losses and counters (src/train/watchdog.ts). */
  watchdog?: WatchdogState;
}

export interface CheckpointContents {
  adapter: AdapterContents;
  extras?: AdapterExtras;
  optimizer: AdamWState;
  state: Omit<TrainerState, 'format' | 'optimizerSteps'>;
}

export interface CheckpointEntry {
  dir: string;
  step: number;
  evalLoss?: number;
}

const NAME = /^step-(\d{8,})$/;
const dirName = (step: number) => `step-${String(step).padStart(8, '0')}`;

/** Writes checkpoint `state.step` under `root`, then applies retention. Returns its folder. */
export async function saveCheckpoint(root: string, c: CheckpointContents, keepLast: number): Promise<string> {
  const final = path.join(root, dirName(c.state.step));
  const tmp = tempPath(final);
  await mkdir(tmp, { recursive: true });
  try {
    await writeAdapterFiles(tmp, c.adapter, c.extras);
    const tensors = c.optimizer.params.flatMap((p) => [
      { name: `${p.name}.exp_avg`, dtype: 'F32' as const, shape: p.shape, data: p.expAvg },
      { name: `${p.name}.exp_avg_sq`, dtype: 'F32' as const, shape: p.shape, data: p.expAvgSq },
    ]);
    await writeSafetensors(path.join(tmp, 'optimizer.safetensors'), tensors);
    const state: TrainerState = {
      format: 'tokenpipe-checkpoint/1', ...c.state,
      optimizerSteps: Object.fromEntries(c.optimizer.params.map((p) => [p.name, p.step])),
    };
    await writeFileAtomic(path.join(tmp, 'trainer_state.json'), JSON.stringify(state, null, 2) + '\n');
    await replaceDir(tmp, final); // a rerun of the same step replaces it; a folder not ours is refused
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw new CheckpointError(final, `cannot write checkpoint: ${(e as Error).message}`, { cause: e });
  }
  await prune(root, keepLast);
  return final;
}

/** Complete checkpoints, oldest first. */
export async function listCheckpoints(root: string): Promise<CheckpointEntry[]> {
  if (!existsSync(root)) return [];
  const out: CheckpointEntry[] = [];
  for (const name of await readdir(root)) {
    const m = NAME.exec(name);
    if (!m) continue;
    const dir = path.join(root, name);
    const state = await readState(dir).catch(() => undefined);
    if (state) out.push({ dir, step: state.step, evalLoss: state.evalLoss });
  }
  return out.sort((a, b) => a.step - b.step);
}

export async function latestCheckpoint(root: string): Promise<CheckpointEntry | undefined> {
  return (await listCheckpoints(root)).at(-1);
}

/**
 * After a divergence: checkpoints at `fromStep` or later hold weights that already gave a bad loss. They are
 * renamed `step-N.diverged` (kept for a look, never resumed from) and index.json lists the rest. Returns the
 * newest that remains: the last good checkpoint.
 */
export async function setAsideFrom(root: string, fromStep: number): Promise<CheckpointEntry | undefined> {
  const all = await listCheckpoints(root);
  const bad = all.filter((e) => e.step >= fromStep);
  for (const e of bad) {
    const aside = `${e.dir}.diverged`;
    await rm(aside, { recursive: true, force: true }); // an earlier leg's, of the same step
    await rename(e.dir, aside);
  }
  if (bad.length > 0) await prune(root, Number.MAX_SAFE_INTEGER);
  return all.filter((e) => e.step < fromStep).at(-1);
}

/** Removes temp folders left by a run that died while writing. Call before a run starts writing. */
export async function removeStaleTemps(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const stale = (await readdir(root)).filter((n) => /^step-\d+\.tmp-/.test(n));
  for (const n of stale) await rm(path.join(root, n), { recursive: true, force: true });
  return stale;
}

/** The best (lowest eval loss) checkpoint, if any has an eval loss. */
export function bestOf(entries: CheckpointEntry[]): CheckpointEntry | undefined {
  let best: CheckpointEntry | undefined;
  for (const e of entries) if (e.evalLoss !== undefined && Number.isFinite(e.evalLoss) && (!best || e.evalLoss < best.evalLoss!)) best = e;
  return best;
}

async function prune(root: string, keepLast: number): Promise<void> {
  const all = await listCheckpoints(root);
  const keep = new Set(all.slice(-Math.max(1, keepLast)).map((e) => e.dir));
  const best = bestOf(all);
  if (best) keep.add(best.dir);
  for (const e of all) if (!keep.has(e.dir)) await removeOwnedDir(e.dir);
  const kept = all.filter((e) => keep.has(e.dir));
  const index = { checkpoints: kept.map((e) => ({ dir: path.basename(e.dir), step: e.step, evalLoss: e.evalLoss ?? null })), best: best ? path.basename(best.dir) : null, latest: kept.length ? path.basename(kept.at(-1)!.dir) : null };
  await writeFileAtomic(path.join(root, 'index.json'), JSON.stringify(index, null, 2) + '\n');
}

async function readState(dir: string): Promise<TrainerState> {
  const file = path.join(dir, 'trainer_state.json');
  let s: TrainerState;
  try {
    s = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(dir, `trainer_state.json is missing or unreadable: ${(e as Error).message}`, { cause: e });
  }
  if (s.format !== 'tokenpipe-checkpoint/1' || !Number.isInteger(s.step) || !Array.isArray(s.rng?.s)) {
    throw new CheckpointError(dir, 'trainer_state.json is not a tokenpipe checkpoint state');
  }
  return s;
}

export interface LoadedCheckpoint {
  dir: string;
  adapter: LoadedAdapter;
  optimizer: AdamWState;
  state: TrainerState;
}

export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const state = await readState(dir);
  const adapter = await loadAdapter(dir);
  const file = await SafetensorsFile.open(path.join(dir, 'optimizer.safetensors'));
  try {
    const params: AdamWState['params'] = [];
    for (const [name, step] of Object.entries(state.optimizerSteps)) {
      const m = `${name}.exp_avg`;
      const v = `${name}.exp_avg_sq`;
      if (!file.has(m) || !file.has(v)) throw new CheckpointError(dir, `optimizer.safetensors lacks the moments of "${name}"`);
      params.push({ name, step, shape: file.info(m).shape, expAvg: await file.readF32(m), expAvgSq: await file.readF32(v) });
    }
    return { dir, adapter, optimizer: { params }, state };
  } finally {
    await file.close();
  }
}
