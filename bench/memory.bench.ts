// Memory of one trainable-tokens update on real shapes (issue 10): for each shape of bench/real-shapes.ts,
// in a child process of its own on the wasm backend, the measured peak of TF.js tensor bytes (the engine's
// numBytes high-water, caught at every change: bench/tensor-peak.ts) during loading and during the update,
// the process's peak RSS (process.resourceUsage().maxRSS), and the memory plan's predicted peak
// (bench/harness.ts predictedPeakBytes: n/a while the plan predicts none).
//
//   npm run bench -- memory [--shapes=reference,...] [--max-seconds=S (default 900)]
// A child stopped by the limit still reports its high-water marks up to then (step-child prints them every 2 s).
import { flag, list, num, type BenchOptions } from './options.ts';
import { predictedPeakBytes } from './harness.ts';
import { fmtBytes, NEW_TOKENS, prepareShape, REAL_SHAPES } from './real-shapes.ts';
import type { BenchOutput, BenchResult } from './run.ts';
import { runTokenpipe } from './tokenpipe-step.ts';

const log = (s: string) => process.stderr.write(s + '\n');

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
    const r = await runTokenpipe({ model: p.dir, mode: 'trainable-tokens', B, T, accum, steps: 1, warmup: 0 }, maxSeconds);
    const events = (Array.isArray(r.raw) ? r.raw : (r.raw as { events: unknown[] }).events) as Array<{ event: string; peakTensorBytes?: number }>;
    const loadPeak = events.find((e) => e.event === 'loaded')?.peakTensorBytes ?? null;
    const predicted = predictedPeakBytes(p.config, 'trainable-tokens', NEW_TOKENS, accum);
    const size = accum > 1 ? `B=${B} T=${T}, ${accum} micro-batches` : `B=${B} T=${T}`;
    const outcome = r.status === 'ok' ? `trains (${size})` : `${r.note} (${size})`;
    const vsPlan = predicted && r.peakTensorBytes ? `, measured/predicted ${(r.peakTensorBytes / predicted).toFixed(2)}` : '';
    rows.push({ name: `${shape}: predicted peak`, value: predicted, unit: 'bytes', note: predicted === null ? 'n/a: the memory plan has no peak prediction yet' : undefined });
    rows.push({ name: `${shape}: measured peak tensor bytes`, value: r.peakTensorBytes ?? null, unit: 'bytes', note: `${fmtBytes(r.peakTensorBytes)} during the update${r.status === 'ok' ? '' : ' until it stopped'}, ${fmtBytes(loadPeak)} while loading${vsPlan}; ${outcome}` });
    rows.push({ name: `${shape}: peak RSS`, value: r.peakRssBytes ?? null, unit: 'bytes', note: `${fmtBytes(r.peakRssBytes)}, whole process` });
    table.push([shape, predicted === null ? 'n/a' : fmtBytes(predicted), fmtBytes(r.peakTensorBytes), fmtBytes(loadPeak), fmtBytes(r.peakRssBytes), r.status === 'ok' ? 'trains' : r.status]);
    details.push({ shape, work: p.work, predicted, loadPeakTensorBytes: loadPeak, run: r });
    log(`  ${shape}: ${outcome}; tensors ${fmtBytes(r.peakTensorBytes)}, RSS ${fmtBytes(r.peakRssBytes)}`);
  }
  printTable(table);
  return { rows, details };
}

function printTable(body: string[][]): void {
  const head = ['shape', 'predicted', 'tensors (step)', 'tensors (load)', 'peak RSS', 'result'];
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i === 0 || i === c.length - 1 ? s.padEnd(w[i]) : s.padStart(w[i]))).join(' | ');
  log(`\none trainable-tokens update per shape (wasm; peak tensor bytes = TF.js numBytes high-water)\n${line(head)}\n${w.map((n) => '-'.repeat(n)).join('-+-')}`);
  for (const b of body) log(line(b));
}
