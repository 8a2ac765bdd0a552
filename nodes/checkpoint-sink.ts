// checkpoint-sink: writes checkpoints (PEFT adapter + optimizer state + trainer state) every
// `every` updates, when training is interrupted, and at the end; at the end also the final
// adapter folder <runDir>/<adapterDir>. Keeps the last `keepLast` checkpoints and the best by
// eval loss. Every folder is written under a temp name and renamed (src/train/checkpoint.ts).
//
// Inputs
//   state        stream of TrainSnapshot (from train-step, or an evaluator's: then with eval metrics for
//                'best' and the README); it asks train-step for weights and optimizer state every `every`
//   fingerprint  value {hash, files} from corpus-reader (optional): corpus hashes in the README
// Everything a checkpoint holds comes from the snapshot, a value: the sink may lag the train loop.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { runPath } from '../src/pipeline/schema.ts';
import { defineNode } from '../src/pipeline/node.ts';
import { formatChange, readLegs } from '../src/pipeline/run-record.ts';
import { stream, value } from '../src/pipeline/kinds.ts';
import { saveAdapter, type AdapterExtras, type Provenance } from '../src/adapter/peft.ts';
import { saveCheckpoint, type CheckpointContents } from '../src/train/checkpoint.ts';
import type { SnapshotAsk, TrainSnapshot } from '../src/train/items.ts';
import type { WatchdogState } from '../src/train/watchdog.ts';
import { NodeInputMissing } from '../src/errors.ts';
import type { Fingerprint } from '../src/data/items.ts';
import { emit } from './_events.ts';
import { CORPUS_FINGERPRINT, TRAIN_STATE } from './_kinds.ts';

const Params = z.strictObject({
  every: z.number().int().positive().default(100).describe('checkpoint every N updates (and at the end / on interrupt)'),
  keepLast: z.number().int().positive().default(3).describe('checkpoints kept besides the best by eval loss (older ones are removed)'),
  adapterDir: runPath({ default: 'adapter', kind: 'dir' }).describe('final adapter folder, inside the run folder (relative to it)'),
});

export default defineNode({
  name: 'checkpoint-sink',
  description: 'Writes PEFT-format checkpoints (keep last K + best) and the final adapter folder.',
  params: Params,
  inputs: {
    state: stream(TRAIN_STATE, { description: 'from evaluator or train-step' }),
    fingerprint: value(CORPUS_FINGERPRINT, { optional: true, description: 'corpus identity for provenance' }),
  },
  outputs: {},
  placement: 'main',
  asks: (p): SnapshotAsk => ({ every: p.every, optimizer: true }),
  async run(inputs, ctx) {
    const p = ctx.params;
    let fingerprint: Fingerprint | undefined;
    if (inputs.fingerprint) for await (const f of inputs.fingerprint) { fingerprint = f; break; }
    // A leg resumed with --resume-changed ran a different pipeline than the first: say so.
    const changed = readLegs(ctx.runDir).filter((l) => l.changes?.length).map((l) => ({ leg: l.leg, changes: l.changes!.map(formatChange) }));
    const provenance: Provenance = {
      ...pipelineIdentity(ctx.runDir),
      ...(changed.length ? { resumedWithChanges: changed } : {}),
      corpusHash: fingerprint?.hash,
      corpusHashes: fingerprint ? Object.fromEntries(fingerprint.files.map((f) => [f.file, f.sha256 ?? `size ${f.size}, mtime ${new Date(f.mtimeMs).toISOString()}`])) : undefined,
      seed: ctx.seed,
    };
    let lastSaved = -1;
    let lastMetrics: Record<string, number> | undefined;
    // The eval losses the watchdog judges a collapse against (step 0's and the last), kept with its state.
    const evals: { start?: number; last?: number } = {};
    for await (const item of inputs.state) {
      const s = item;
      // A diverged run leaves its last good checkpoint as it is and writes no final adapter (train-step fails the run next).
      if (s.reason === 'diverged') continue;
      if (s.metrics) lastMetrics = { eval_loss: s.metrics.loss, eval_ppl: s.metrics.ppl, new_token_loss: s.metrics.newToken.loss, new_token_acc: s.metrics.newToken.acc };
      if (s.metrics && Number.isFinite(s.metrics.loss)) evals[s.step === 0 ? 'start' : 'last'] = s.metrics.loss;
      const due = s.reason !== 'step' || s.step % p.every === 0;
      if (!due || (s.step === lastSaved && s.reason !== 'end') || s.step === 0) continue;
      const contents = checkpointOf(s, evals, ctx.name);
      const extras: AdapterExtras = {
        tokenizer: { tokenizerJson: s.tokenizer.tokenizerJson, tokenizerConfig: s.tokenizer.tokenizerConfig },
        provenance: { ...provenance, step: s.step, metrics: lastMetrics },
      };
      contents.extras = extras;
      if (s.step !== lastSaved || (s.reason === 'end' && s.metrics)) {
        const dir = await saveCheckpoint(s.checkpointRoot, contents, p.keepLast);
        lastSaved = s.step;
        emit(ctx, { type: 'checkpoint', node: ctx.name, step: s.step, dir, reason: s.reason });
      }
      if (s.reason === 'end') {
        const dir = path.join(ctx.runDir, p.adapterDir);
        await saveAdapter(dir, contents.adapter, extras);
        emit(ctx, { type: 'adapter', node: ctx.name, step: s.step, dir });
      }
    }
  },
});

/** A checkpoint's contents from a snapshot that carries weights, optimizer state and trainer state. */
function checkpointOf(s: TrainSnapshot, evals: { start?: number; last?: number }, node: string): CheckpointContents {
  if (!s.weights || !s.optimizer || !s.state) {
    throw new NodeInputMissing(node, `the snapshot of step ${s.step} (${s.reason}) carries no weights or optimizer state: its train node was not asked for them`);
  }
  const { watchdog, ...state } = s.state;
  return { adapter: s.weights, optimizer: s.optimizer, state: { ...state, evalLoss: s.metrics?.loss, watchdog: watchdog && withEvals(watchdog, evals) } };
}

/**
 * The watchdog's state with the eval losses seen here. Its fields in the order a watchdog that was told them
 * as they came would hold them (step 0's before the first update, the last after it), so a checkpoint's bytes
 * do not depend on where the losses were joined in.
 */
function withEvals(w: WatchdogState, evals: { start?: number; last?: number }): WatchdogState {
  let out: WatchdogState = { ...w };
  if (evals.start !== undefined) {
    out = 'evalStart' in out
      ? { ...out, evalStart: evals.start }
      : Object.fromEntries(Object.entries(out).flatMap(([k, v]) => (k === 'dead' ? [[k, v], ['evalStart', evals.start]] : [[k, v]]))) as WatchdogState;
  }
  if (evals.last !== undefined) out.evalLast = evals.last;
  return out;
}

/** sha256 of the pipeline file the run was started from (named in <runDir>/pipeline.json). */
function pipelineIdentity(runDir: string): Pick<Provenance, 'pipelineHash' | 'pipelineFile'> {
  const resolved = path.join(runDir, 'pipeline.json');
  if (!existsSync(resolved)) return {};
  const file = (JSON.parse(readFileSync(resolved, 'utf8')) as { file?: string }).file;
  if (!file || !existsSync(file)) return {};
  return { pipelineFile: file, pipelineHash: createHash('sha256').update(readFileSync(file)).digest('hex') };
}
