// checkpoint-sink: writes checkpoints (PEFT adapter + optimizer state + trainer state) every
// `every` updates, when training is interrupted, and at the end; at the end also the final
// adapter folder <runDir>/<adapterDir>. Keeps the last `keepLast` checkpoints and the best by
// eval loss. Every folder is written under a temp name and renamed (src/train/checkpoint.ts).
//
// Inputs
//   state        stream of TrainSnapshot (from evaluator, or straight from train-step)
//   fingerprint  value {hash, files} from corpus-reader (optional): corpus hashes in the README
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { runPath } from '../src/pipeline/schema.ts';
import { defineNode } from '../src/pipeline/node.ts';
import { formatChange, readLegs } from '../src/pipeline/run-record.ts';
import { stream, value } from '../src/pipeline/kinds.ts';
import { saveAdapter, type AdapterExtras, type Provenance } from '../src/adapter/peft.ts';
import { saveCheckpoint } from '../src/train/checkpoint.ts';
import { checkpointContents } from '../src/train/trainer.ts';
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
    for await (const item of inputs.state) {
      const s = item;
      if (s.metrics) lastMetrics = { eval_loss: s.metrics.loss, eval_ppl: s.metrics.ppl, new_token_loss: s.metrics.newToken.loss, new_token_acc: s.metrics.newToken.acc };
      const due = s.reason !== 'step' || s.step % p.every === 0;
      if (!due || (s.step === lastSaved && s.reason !== 'end') || s.step === 0) continue;
      // Export now, synchronously: the train loop waits until this item is consumed.
      const contents = checkpointContents(s.trainer, s.baseModel, { consumed: s.consumed }, s.metrics?.loss);
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

/** sha256 of the pipeline file the run was started from (named in <runDir>/pipeline.json). */
function pipelineIdentity(runDir: string): Pick<Provenance, 'pipelineHash' | 'pipelineFile'> {
  const resolved = path.join(runDir, 'pipeline.json');
  if (!existsSync(resolved)) return {};
  const file = (JSON.parse(readFileSync(resolved, 'utf8')) as { file?: string }).file;
  if (!file || !existsSync(file)) return {};
  return { pipelineFile: file, pipelineHash: createHash('sha256').update(readFileSync(file)).digest('hex') };
}
