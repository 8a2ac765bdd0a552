// Memory of one trainable-tokens update on real shapes (issue 10), predicted beside measured. For each shape of
// bench/real-shapes.ts, in a child process of its own on the wasm backend, 1 thread (the plain step, as
// train-step `threads: 1`):
//   tensors  predicted: the step plan's peak of tensor bytes (src/train/step-memory.ts stepPlan, with the
//            recomputation it picks); measured: the TF.js engine's numBytes high-water during the update, loaded
//            weights included (caught at every change: bench/tensor-peak.ts). Same quantity: live tensor bytes.
//            The load's own high-water is printed beside it, not compared (the plan predicts the update).
//   heap     predicted: the plan's `heap` (tensors + XNNPACK packed operands + allocator slack + the initial heap);
//            measured: the wasm heap's size after the update (a WebAssembly.Memory only grows: its high-water).
//   RSS      measured only: process.resourceUsage().maxRSS (JS heap, Node, the wasm heap's touched pages).
// Ratios are predicted / measured (> 1: the plan over-predicts).
//
//   npm run bench -- memory [--shapes=reference,...] [--max-seconds=S (default 900)]
// A child stopped by the limit still reports its high-water marks up to then (step-child prints them every 2 s).
import { flag, list, num, type BenchOptions } from './options.ts';
import { benchStepPlan, formatStepPlan } from './harness.ts';
import { fmtBytes, NEW_TOKENS, prepareShape, REAL_SHAPES } from './real-shapes.ts';
import type { BenchOutput, BenchResult } from './run.ts';
import { runTokenpipe } from './tokenpipe-step.ts';

const log = (s: string) => process.stderr.write(s + '\n');

type Event = { event: string; peakTensorBytes?: number; wasmHeapBytes?: number | null };

export default async function memory(o: BenchOptions): Promise<BenchOutput> {
  const shapes = list(o, 'shapes', REAL_SHAPES, REAL_SHAPES);
  // One update per shape, but Qwen2.5-0.5B's 8 micro-batches of 512 tokens take minutes on two cores.
  const maxSeconds = num(o, 'max-seconds', flag(o, 'quick') ? 300 : 900);
  const rows: BenchResult[] = [];
  const table: string[][] = [];
  const details = [];
  for (const shape of shapes) {
    const p = await prepareShape(shape, log);
    const { B, T, accum } = p.work;
    const plan = benchStepPlan(p.config, 'trainable-tokens', { newTokens: NEW_TOKENS, gradAccumulation: accum, B, T, threads: 1 });
    for (const l of formatStepPlan(plan, { node: shape, backend: 'wasm', B, T, threads: 1 })) log(`  ${l}`);
    const r = await runTokenpipe({ model: p.dir, mode: 'trainable-tokens', B, T, accum, steps: 1, warmup: 0, threads: 1 }, maxSeconds);
    const events = (Array.isArray(r.raw) ? r.raw : (r.raw as { events: unknown[] }).events) as Event[];
    const loadPeak = events.find((e) => e.event === 'loaded')?.peakTensorBytes ?? null;
    const heap = events.map((e) => e.wasmHeapBytes ?? 0).reduce((a, b) => Math.max(a, b), 0) || null;
    const predTensors = plan.recompute ? plan.bytes.peak.recompute : plan.bytes.peak.kept;
    // The step's high-water starts after loading (with the loaded weights in it): the update's peak, as planned.
    const measTensors = r.peakTensorBytes ?? null;
    const ratio = (a: number, b: number | null) => (b ? a / b : null);
    const size = accum > 1 ? `B=${B} T=${T}, ${accum} micro-batches` : `B=${B} T=${T}`;
    const outcome = r.status === 'ok' ? `trains (${size})` : `${r.note} (${size})`;
    const rt = ratio(predTensors, measTensors);
    const rh = ratio(plan.heap, heap);
    const how = `${plan.recompute ? 'recomputing' : 'activations kept'}; ${outcome}`;
    rows.push({ name: `${shape}: predicted peak tensor bytes (stepPlan)`, value: predTensors, unit: 'bytes', note: how });
    rows.push({ name: `${shape}: measured peak tensor bytes (numBytes high-water)`, value: measTensors, unit: 'bytes', note: `during the update${r.status === 'ok' ? '' : ' until it stopped'}; ${fmtBytes(loadPeak)} while loading` });
    rows.push({ name: `${shape}: tensors predicted / measured`, value: rt, unit: 'x' });
    rows.push({ name: `${shape}: predicted wasm heap (stepPlan.heap)`, value: plan.heap, unit: 'bytes' });
    rows.push({ name: `${shape}: measured wasm heap size`, value: heap, unit: 'bytes', note: 'WebAssembly.Memory size after the update (grows only)' });
    rows.push({ name: `${shape}: heap predicted / measured`, value: rh, unit: 'x' });
    rows.push({ name: `${shape}: peak RSS`, value: r.peakRssBytes ?? null, unit: 'bytes', note: `${fmtBytes(r.peakRssBytes)}, whole process` });
    table.push([
      shape, size, fmtBytes(predTensors), fmtBytes(measTensors), fmtBytes(loadPeak), rt === null ? 'n/a' : rt.toFixed(2),
      fmtBytes(plan.heap), fmtBytes(heap), rh === null ? 'n/a' : rh.toFixed(2), fmtBytes(r.peakRssBytes), r.status === 'ok' ? 'trains' : r.status,
    ]);
    details.push({ shape, work: p.work, plan, loadPeakTensorBytes: loadPeak, stepPeakTensorBytes: r.peakTensorBytes, wasmHeapBytes: heap, run: r });
    log(`  ${shape}: ${outcome}; tensors predicted ${fmtBytes(predTensors)} / measured ${fmtBytes(measTensors)}, heap ${fmtBytes(plan.heap)} / ${fmtBytes(heap)}, RSS ${fmtBytes(r.peakRssBytes)}`);
  }
  printTable(table);
  return { rows, details };
}

function printTable(body: string[][]): void {
  const head = ['shape', 'micro-batch', 'tensors pred.', 'tensors meas.', '(load meas.)', 'pred/meas', 'heap pred.', 'heap meas.', 'pred/meas', 'peak RSS (meas.)', 'result'];
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i < 2 || i === c.length - 1 ? s.padEnd(w[i]) : s.padStart(w[i]))).join(' | ');
  log(
    '\none trainable-tokens update per shape, wasm, 1 thread, LoRA r=8 q_proj,v_proj, 16 new tokens\n' +
      'tensors: stepPlan peak (pred.) vs TF.js numBytes high-water during the update (meas.; the load beside it); heap: stepPlan.heap vs wasm memory size; RSS: process maxRSS\n' +
      `${line(head)}\n${w.map((n) => '-'.repeat(n)).join('-+-')}`,
  );
  for (const b of body) log(line(b));
}
