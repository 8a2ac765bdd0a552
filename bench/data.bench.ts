// Data benchmarks: tokenization throughput of the packer's pool path with 1, 2 and all
// cores, and peak memory while reading a 1 GB JSONL file (DATA_BENCH_MB to change the size,
// DATA_BENCH_TOKENIZE_MB for the tokenized text, default 4). Run: npm run bench -- data
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunPool } from '../src/pipeline/pool.ts';
import { createPacker, PackerParams } from '../src/data/packer.ts';
import { CorpusParams, readCorpus } from '../src/data/corpus.ts';
import type { Document } from '../src/data/items.ts';
import type { TokenizerArtifact } from '../src/tokenizer/items.ts';
import { brownTexts, lenmlArtifact, writeFillerJsonl } from '../test/helpers/data.ts';

interface Row {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

/** Brown corpus paragraphs (tags stripped), repeated up to ~`mb` MB of text. */
function brownDocs(mb: number): Document[] {
  const texts = brownTexts(['ca01', 'ca02', 'ca03', 'ca04', 'ca05', 'cb01', 'cc01', 'cd01']);
  const docs: Document[] = [];
  let bytes = 0;
  for (let i = 0; bytes < mb * 2 ** 20; i++) {
    const text = `${i} ${texts[i % texts.length]}`;
    bytes += text.length;
    docs.push({ id: String(i), text, split: 'train', source: { file: 'brown' } });
  }
  return docs;
}

async function tokenizeThroughput(threads: number, docs: Document[], tok: TokenizerArtifact, dir: string): Promise<{ mbps: number; tps: number }> {
  const pool = new RunPool({ threads });
  try {
    await pool.warm();
    const params = PackerParams.parse({ seqLen: 1024, batchSize: 8, cache: false, concurrency: threads * 2, spill: false });
    const env = { name: `t${threads}`, runDir: dir, seed: 0, runOnPool: <T>(m: string, e: string, a: unknown) => pool.call<T>(m, e, a) };
    // Warm-up: every thread builds its tokenizer once (that cost is per run, not per document).
    const warm = createPacker(
      (async function* () {
        yield* docs.slice(0, threads * 64);
      })(),
      Promise.resolve(tok),
      null,
      { ...params, docsPerTask: 1 },
      { ...env, name: `w${threads}` },
    );
    await warm.built;
    const t0 = performance.now();
    const h = createPacker(
      (async function* () {
        yield* docs;
      })(),
      Promise.resolve(tok),
      null,
      params,
      env,
    );
    await h.built;
    const s = (performance.now() - t0) / 1000;
    const chars = docs.reduce((n, d) => n + d.text.length, 0);
    return { mbps: chars / 2 ** 20 / s, tps: h.status.stats!.train.tokens / s };
  } finally {
    await pool.close();
  }
}

export default async function (): Promise<Row[]> {
  const rows: Row[] = [];
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

    const tok = lenmlArtifact('tokenizer-llama3_1', 128256);
    const docs = brownDocs(Number(process.env.DATA_BENCH_TOKENIZE_MB ?? 4));
    const all = os.availableParallelism();
    for (const threads of [...new Set([1, 2, all])]) {
      const r = await tokenizeThroughput(threads, docs, tok, path.join(dir, `run${threads}`));
      const label = threads === all ? `${threads} (all)` : String(threads);
      rows.push({ name: `tokenize+pack ${label} threads`, value: r.mbps, unit: 'MB/s', note: `${Math.round(r.tps)} tok/s, Llama 3.1 tokenizer, Brown corpus` });
    }

  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
