// summary: the end-of-run summary of one training run, and its report.
//
// Inputs
//   state   stream of TrainSnapshot from the evaluator
//   events  stream of StepRecord from train-step (optional): tokens/s per update in the summary
// Outputs
//   state   the same snapshots, unchanged: feed checkpoint-sink
// Snapshots are values (src/train/items.ts) and may fan out; the summary still sits between the
// evaluator and the checkpoint sink when it should measure the adapter: once the sink has asked for
// the snapshot after the last one, the adapter folder exists.
// At the end it writes report.md, report.json, loss-curve.svg and summary.txt in the run folder
// and hands the summary table to `pipe run`, which prints it on stdout after the run.
// For "before" numbers, give the evaluator `atStart: true` (an evaluation at step 0).
import path from 'node:path';
import { z } from 'zod';
import { runPath } from '../src/pipeline/schema.ts';
import { defineNode } from '../src/pipeline/node.ts';
import { stream } from '../src/pipeline/kinds.ts';
import type { TrainSnapshot } from '../src/train/items.ts';
import { BranchRecorder } from '../src/report/record.ts';
import { summaryLines } from '../src/report/format.ts';
import { writeReport, writeText } from '../src/report/write.ts';
import { emit } from './_events.ts';
import { STEP_EVENT, TRAIN_STATE } from './_kinds.ts';

const Params = z.strictObject({
  adapterDir: runPath({ default: 'adapter', kind: 'dir', writes: false }).describe("the checkpoint sink's adapterDir (folder under the run folder), measured for the summary"),
  report: runPath({ default: 'report', kind: 'file', suffixes: ['.md', '.json'] }).describe('report file names (no extension) under the run folder'),
  image: runPath({ default: 'loss-curve.svg', kind: 'file' }).describe('loss-curve image file name under the run folder'),
  title: z.string().optional().describe('title of the summary (default: "tokenpipe summary (<run folder name>)")'),
});

export default defineNode({
  name: 'summary',
  description: 'Before/after summary table (eval loss, bits per byte, new-token loss, pooled and macro accuracy, trainable params, memory, adapter) and report.md with loss curves and a per-token table.',
  params: Params,
  inputs: {
    state: stream(TRAIN_STATE, { description: 'from evaluator' }),
    events: stream(STEP_EVENT, { optional: true, description: "train-step's events (throughput)" }),
  },
  outputs: {
    state: stream(TRAIN_STATE, { description: 'the same snapshots, for checkpoint-sink' }),
  },
  placement: 'main',
  runFiles: (name) => ['summary.txt', `records/${name}.jsonl`],
  run(inputs, ctx) {
    const p = ctx.params;
    // The journal makes a resumed leg's summary cover the whole run (src/report/journal.ts).
    // Labelled by the branch it trained (its embedding mode), not by this node's name: charts and
    // tables read 'trainable-tokens', not 'summary (trainable-tokens)'.
    const rec = new BranchRecorder(undefined, { file: path.join(ctx.runDir, 'records', `${ctx.name}.jsonl`), resume: ctx.resume });
    const drained = inputs.events ? rec.drainEvents(inputs.events) : Promise.resolve();
    const state = async function* (): AsyncGenerator<TrainSnapshot> {
      for await (const s of inputs.state) {
        rec.observe(s);
        // The run fails once this snapshot is taken: the summary (no adapter, the last good checkpoint) is written first.
        if (s.reason === 'diverged') await finish(false);
        yield s;
      }
      // The sink has taken the end snapshot by now (it asked for the next one): the adapter is on disk.
      await finish(true);
    };
    const finish = async (adapter: boolean) => {
      await drained;
      const r = rec.result();
      if (!r) return;
      if (adapter) rec.findAdapter(path.join(ctx.runDir, p.adapterDir));
      const title = p.title ?? `tokenpipe summary (${path.basename(ctx.runDir)})`;
      const files = await writeReport(ctx.runDir, [r], { name: p.report, title, image: p.image });
      const lines = [...summaryLines(r, title), '', `  report                ${files.markdown}`];
      await writeText(path.join(ctx.runDir, 'summary.txt'), lines.join('\n') + '\n');
      emit(ctx, { type: 'summary', text: lines.join('\n') });
    };
    return { state: state() };
  },
});
