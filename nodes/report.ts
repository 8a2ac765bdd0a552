// report: compares train branches that ran side by side in one graph (the ablation).
//
// Inputs (each optional, at least one branch)
//   frozen, trainable-tokens, full   streams of TrainSnapshot, each from its branch's evaluator
//   <branch>-events                  step records of that branch's train-step (tokens/s per update)
// Outputs
//   frozen, trainable-tokens, full   the same snapshots, unchanged: feed each branch's checkpoint-sink
// Passes every branch through rather than ending it, for the reason nodes/summary.ts gives: the
// adapter exists once the sink behind it has taken the last snapshot.
// When every connected branch has ended it writes report.md, report.json and loss-curve.svg in
// the run folder (eval loss, new-token loss and accuracy, trainable parameters, training memory
// and adapter size side by side) and hands a text table to `pipe run` for stdout.
import path from 'node:path';
import { z } from 'zod';
import { PipelineUnrunnable } from '../src/errors.ts';
import { runPath } from '../src/pipeline/schema.ts';
import { defineNode } from '../src/pipeline/node.ts';
import { stream } from '../src/pipeline/kinds.ts';
import type { TrainSnapshot } from '../src/train/items.ts';
import type { EmbeddingMode } from '../src/model/modes.ts';
import { BranchRecorder, type BranchRecord } from '../src/report/record.ts';
import { compareLines } from '../src/report/format.ts';
import { writeReport } from '../src/report/write.ts';
import { emit } from './_events.ts';
import { STEP_EVENT, TRAIN_STATE } from './_kinds.ts';

// One branch per embedding mode, in the report's column order.
const BRANCHES = ['frozen', 'trainable-tokens', 'full'] as const satisfies readonly EmbeddingMode[];
type Branch = (typeof BRANCHES)[number];

const Params = z.strictObject({
  adapterDirs: z.partialRecord(z.enum(BRANCHES), runPath({ kind: 'dir', writes: false })).default({}).describe("each branch's checkpoint-sink adapterDir (default adapter-<branch>)"),
  report: runPath({ default: 'report', kind: 'file', suffixes: ['.md', '.json'] }).describe('report file names (no extension) under the run folder'),
  image: runPath({ default: 'loss-curve.svg', kind: 'file' }).describe('loss-curve image file name under the run folder'),
  title: z.string().default('Ablation: frozen vs trainable-tokens vs full embedding').describe('heading of report.md'),
});

const port = (b: Branch) => stream(TRAIN_STATE, { optional: true, description: `the ${b} branch (from its evaluator)` });
const events = (b: Branch) => stream(STEP_EVENT, { optional: true, description: `the ${b} train-step's events` });
const out = (b: Branch) => stream(TRAIN_STATE, { description: `the ${b} branch, for its checkpoint-sink` });

/** One entry per branch, named key(b): typed ports (and outputs) for names made from the branches. */
function perBranch<K extends string, V>(key: (b: Branch) => K, f: (b: Branch) => V): Record<K, V> {
  return Object.fromEntries(BRANCHES.map((b) => [key(b), f(b)])) as Record<K, V>;
}
const eventsPort = (b: Branch) => `${b}-events` as const;

export default defineNode({
  name: 'report',
  description: 'Side-by-side report of train branches (frozen / trainable-tokens / full): report.md, report.json, loss-curve.svg.',
  params: Params,
  inputs: { ...perBranch((b) => b, port), ...perBranch(eventsPort, events) },
  outputs: perBranch((b) => b, out),
  placement: 'main',
  runFiles: (name) => BRANCHES.map((b) => `records/${name}-${b}.jsonl`),
  run(inputs, ctx) {
    const p = ctx.params;
    const connected = BRANCHES.filter((b) => inputs[b]);
    if (connected.length === 0) throw new PipelineUnrunnable(`${ctx.name}: connect at least one of the inputs ${BRANCHES.join(', ')}`);
    // One journal per branch: a resumed leg's report covers the whole run (src/report/journal.ts).
    const recorders = new Map(connected.map((b) => [b, new BranchRecorder(b, { file: path.join(ctx.runDir, 'records', `${ctx.name}-${b}.jsonl`), resume: ctx.resume })]));
    let open = connected.length;
    const drained = Promise.all(connected.map((b) => {
      const ev = inputs[eventsPort(b)];
      return ev ? recorders.get(b)!.drainEvents(ev) : undefined;
    }));

    const finish = async () => {
      await drained;
      const records = connected.map((b) => recorders.get(b)!.result()).filter((r): r is BranchRecord => r !== null);
      if (records.length === 0) return;
      const files = await writeReport(ctx.runDir, records, { name: p.report, title: p.title, image: p.image });
      const lines = [...compareLines(records, p.title), '', `  report                    ${files.markdown}`];
      emit(ctx, { type: 'summary', text: lines.join('\n') });
    };

    const pass = async function* (b: Branch, input: AsyncIterable<TrainSnapshot>): AsyncGenerator<TrainSnapshot> {
      const rec = recorders.get(b)!;
      for await (const s of input) {
        rec.observe(s);
        yield s;
      }
      // This branch's sink has taken its end snapshot: its adapter is on disk.
      rec.findAdapter(path.join(ctx.runDir, p.adapterDirs[b] ?? `adapter-${b}`));
      // The last branch to end writes the report (the others are complete by then).
      if (--open === 0) await finish();
    };
    const empty = async function* (): AsyncGenerator<TrainSnapshot> {};
    return perBranch((b) => b, (b) => {
      const input = inputs[b];
      return input ? pass(b, input) : empty();
    });
  },
});
