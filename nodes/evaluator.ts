// evaluator: held-out metrics of the training model every `every` updates and at the end.
//
// Inputs
//   state   stream of TrainSnapshot from train-step (it asks for weights at every/atStart: `asks`)
//   eval    stream of PackedBatch (the packer's eval output; read once, kept in memory)
// Outputs
//   state   the same snapshots; an evaluated one goes on as a copy with `metrics` set (a
//           snapshot is never changed once yielded): for a summary or a checkpoint sink.
// It scores the shared frozen model (src/train/frozen-models.ts) with the snapshot's trainable
// tensors (src/train/eval-model.ts), not the trainer: the train loop may be steps ahead.
// Metrics: loss and perplexity over every scored token, and bits per byte over the bytes those
// tokens spell (comparable across tokenizers); at positions whose target is a new token, loss and
// top-1 accuracy (pooled, and the mean over new tokens that occur as targets), and per new token
// how often the model emits it there. The step-0 evaluation also scores the base model with its
// own tokenizer on the same text (`baseOwn`, src/train/base-eval.ts): the summary's bits-per-byte "before".
// Each evaluation is appended to <runDir>/<metricsFile> as one JSON line.
import { NodeInputMissing } from '../src/errors.ts';
import { appendSync } from '../src/io/append.ts';
import { keepLinesAtomicSync } from '../src/io/atomic.ts';
import path from 'node:path';
import { z } from 'zod';
import { runPath } from '../src/pipeline/schema.ts';
import { defineNode } from '../src/pipeline/node.ts';
import { stream } from '../src/pipeline/kinds.ts';
import { evaluateOn, type EvalMetrics } from '../src/train/evaluate.ts';
import { evaluateBaseOwnOn } from '../src/train/base-eval.ts';
import { tokenByteLengths } from '../src/tokenizer/bytes.ts';
import { loadTokenizer, type LoadedTokenizer } from '../src/tokenizer/load.ts';
import { writeInitReport as writeInitFiles } from '../src/tokenizer/report.ts';
import { EvalModel } from '../src/train/eval-model.ts';
import { postEval } from '../src/train/eval-board.ts';
import type { SnapshotAsk, TrainRun, TrainSnapshot } from '../src/train/items.ts';
import { stepBatch, type StepBatch } from '../src/train/step.ts';
import type { LlamaModel } from '../src/model/weights.ts';
import { emit } from './_events.ts';
import { BATCH, TRAIN_STATE } from './_kinds.ts';

const Params = z.strictObject({
  every: z.number().int().positive().default(50).describe('evaluate every N updates (and always at the end)'),
  atStart: z.boolean().default(false).describe('also evaluate before the first update of a fresh run (step 0: the "before" numbers)'),
  maxBatches: z.number().int().positive().optional().describe('use at most this many eval batches'),
  metricsFile: runPath({ default: 'metrics.jsonl', kind: 'file' }).describe('file under the run folder that receives one JSON line per evaluation'),
});

export default defineNode({
  name: 'evaluator',
  description: 'Eval loss/perplexity and per-new-token loss, accuracy and emission rate, every N steps and at the end.',
  params: Params,
  inputs: {
    state: stream(TRAIN_STATE, { description: 'from train-step' }),
    eval: stream(BATCH, { description: 'held-out batches' }),
  },
  outputs: {
    state: stream(TRAIN_STATE, { description: 'snapshots with metrics, for checkpoint-sink' }),
  },
  placement: 'main',
  asks: (p): SnapshotAsk => ({ every: p.every, atStart: p.atStart }),
  runFiles: () => ['init-report.json', 'init-report.txt'],
  run(inputs, ctx) {
    const p = ctx.params;
    const file = path.join(ctx.runDir, p.metricsFile);
    let held: StepBatch[] | null = null;
    let last: TrainSnapshot['metrics'] & { step: number } | undefined;
    // The run's tokenizer and its byte table, built once from the first evaluated snapshot.
    let tok: { ext: LoadedTokenizer; byteLengths: Int32Array } | undefined;
    const collect = async (): Promise<StepBatch[]> => {
      const out: StepBatch[] = [];
      for await (const b of inputs.eval) {
        out.push(stepBatch(b.batch, b.seqLen));
        if (p.maxBatches !== undefined && out.length >= p.maxBatches) break;
      }
      return out;
    };
    let first = true;
    // Opened at the first snapshot with weights, while the train node still holds the frozen weights: one copy for both.
    let model: EvalModel | undefined;
    const state = async function* (): AsyncGenerator<TrainSnapshot> {
      try {
        for await (const s of inputs.state) {
          const due = s.reason === 'end' || (s.reason === 'step' && s.step % p.every === 0) || (s.reason === 'start' && p.atStart);
          if (first && ctx.resume) {
            // A resumed leg evaluates again from its checkpoint on: earlier legs' lines from there go, so each step has one.
            const from = s.reason === 'step' || due ? s.step : s.step + 1;
            keepLinesAtomicSync(file, (l) => evalStep(l) < from);
          }
          first = false;
          let metrics: EvalMetrics | undefined;
          if (due && last?.step === s.step) {
            metrics = last; // the end of training right after a periodic evaluation: same weights
          } else if (due) {
            if (!s.weights) throw new NodeInputMissing(ctx.name, `the snapshot of step ${s.step} (${s.reason}) carries no weights: its train node was not asked for them`);
            model ??= await EvalModel.open(s.baseModel, s.run, s.weights);
            held ??= await collect();
            if (held.length === 0) throw new NodeInputMissing(ctx.name, 'the eval input produced no batches (is the eval split empty?)');
            const run = s.run;
            tok ??= runTokenizer(s);
            const at = model.at(s.weights);
            // On the native engine (run.native) the eval forward and head run as one ONNX Runtime graph too.
            let m = await evaluateOn(at, held, run.tokens.newTokenIds, run.tokens.newTokens, { byteLengths: tok.byteLengths, native: run.native });
            // Only at a fresh start are the weights still the base model's (LoRA zero, base rows as loaded).
            if (s.reason === 'start') m = { ...m, baseOwn: await baseOwn(s, at, tok.ext, held) };
            metrics = m;
            last = { ...m, step: s.step };
            postEval(run.id, s.step, m.loss); // a collapse is judged against the step-0 evaluation too
            const line = { type: 'eval' as const, step: s.step, final: s.reason === 'end', time: new Date().toISOString(), ...m };
            appendSync(file, JSON.stringify(line) + '\n');
            emit(ctx, { node: ctx.name, ...line, perToken: undefined });
            if (s.reason === 'start' && run.describeInit) await reportInitLosses(ctx.runDir, run, m);
          }
          // The snapshot it received stays as it was: an evaluated one goes on as a new object.
          yield metrics ? { ...s, metrics } : s;
        }
      } finally {
        model?.close();
      }
    };
    return { state: state() };
  },
});

/** The step of a metrics line (a line that does not parse is kept: -1). */
function evalStep(line: string): number {
  try {
    const step = (JSON.parse(line) as { step?: unknown }).step;
    return typeof step === 'number' ? step : -1;
  } catch {
    return -1;
  }
}

function runTokenizer(s: TrainSnapshot): { ext: LoadedTokenizer; byteLengths: Int32Array } {
  const ext = loadTokenizer(s.tokenizer);
  return { ext, byteLengths: tokenByteLengths(ext) };
}

/** The base model with its own tokenizer (the model folder's) on the eval text; undefined when that tokenizer does not load. */
async function baseOwn(s: TrainSnapshot, model: LlamaModel, ext: LoadedTokenizer, held: StepBatch[]): Promise<EvalMetrics['baseOwn']> {
  let base: LoadedTokenizer;
  try {
    base = loadTokenizer(s.baseModel);
  } catch {
    return undefined; // the summary then shows n/a: better than a baseline from another tokenizer
  }
  // On the native engine as a graph too (its frozen weights are not on TF.js).
  return evaluateBaseOwnOn(model, held, ext, base, s.run.baseVocabSize, s.run.native);
}

/** The init report with, per new token, the loss before training where it is the target (eval split). */
async function reportInitLosses(runDir: string, t: TrainRun, m: EvalMetrics): Promise<void> {
  const byId = new Map(t.tokens.newTokenIds.map((id, k) => [id, m.perToken[t.tokens.newTokens[k]]]));
  const r = await t.describeInit!(async (ids) => new Map(ids.flatMap((id) => {
    const pt = byId.get(id);
    return pt ? [[id, { loss: pt.loss, positions: pt.count }] as const] : [];
  })));
  writeInitFiles(runDir, r);
}
