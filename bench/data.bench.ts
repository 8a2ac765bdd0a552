// Data benchmarks: tokenization throughput of the packer's pool path with 1, 2 and all cores
// (bench/tokenize.ts), and peak memory while reading a 1 GB JSONL file (DATA_BENCH_MB to change
// the size, DATA_BENCH_TOKENIZE_MB for the tokenized text, default 5.5: the Brown corpus once, less the warm-up's paragraphs). Run: npm run bench -- data
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CorpusParams, readCorpus } from '../src/data/corpus.ts';
import { writeFillerJsonl } from '../test/helpers/data.ts';
import type { BenchResult } from './run.ts';
import { BenchOptionInvalid } from './errors.ts';
import { tokenizeRows } from './tokenize.ts';

export default async function (): Promise<BenchResult[]> {
  const tokenizeMb = Number(process.env.DATA_BENCH_TOKENIZE_MB ?? 5.5);
  // Checked before the 1 GB read, not after it.
  if (!(tokenizeMb > 0)) throw new BenchOptionInvalid(`DATA_BENCH_TOKENIZE_MB needs a positive number, got ${process.env.DATA_BENCH_TOKENIZE_MB}`);
  const rows: BenchResult[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tp-bench-data-'));
  try {
    // Memory first, before this file fills the heap with tokenizers and batches.
    const mb = Number(process.env.DATA_BENCH_MB ?? 1024);
    const file = path.join(dir, 'big.jsonl');
    const lines = await writeFillerJsonl(file, mb * 2 ** 20);
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const t0 = performance.now();
    let n = 0;
    for await (const _ of readCorpus(CorpusParams.parse({ paths: file, evalFraction: 0.01 }), { seed: 0 })) n++;
    const s = (performance.now() - t0) / 1000;
    clearInterval(timer);
    if (n !== lines) throw new Error(`read ${n} of ${lines} lines`);
    rows.push({ name: `read ${mb} MB JSONL: peak RSS`, value: Math.round(peak / 2 ** 20), unit: 'MB', note: `whole process; ${Math.round((peak - base) / 2 ** 20)} MB over the ${Math.round(base / 2 ** 20)} MB before reading` });
    rows.push({ name: `read ${mb} MB JSONL: throughput`, value: mb / s, unit: 'MB/s', note: `${lines} documents` });
    rmSync(file);

    rows.push(...(await tokenizeRows(tokenizeMb)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
