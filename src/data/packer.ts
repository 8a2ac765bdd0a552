// The batch packer: documents → token ids on the pool → packed Arrow batches on disk → the
// `train` and `eval` streams.
//
// The build writes every batch to Arrow IPC shards (the cache) and never waits for a
// consumer; the outputs read committed shards, following the build while it runs. So the
// two outputs never hold each other back (an evaluator that reads eval late cannot stall
// training, nor the reverse), memory stays at one shard per reader, and a later epoch or a
// rerun replays the same files. Tokenizing is about a thousand times faster than a CPU
// train step, so the build stays far ahead of training.
import os from 'node:os';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { boundedParallel } from '../util/parallel.ts';
import type { Document, PackCacheInfo, PackedBatch, PackPlan } from './items.ts';
import type { DataEvent } from './events.ts';
import type { TokenizerArtifact } from '../tokenizer/items.ts';
import { readIpcFile } from '../io/arrow.ts';
import { PackerConfigInvalid } from '../errors.ts';
import { BatchRecycler, Packer, type PackStats } from './pack.ts';
import { buildKey, completeBuilds, familyKey, logsFromManifest, matchingBuild, newBuild, ShardWriter, SPLITS, tokenizerFile, verifyShards, type ShardLog, type Split } from './pack-cache.ts';
import { specialIds, tokenizeDocsOf } from './tokenize.ts';
import type { TokenizeTask } from './pack-worker.ts';
import type { TokenizedDocs } from './tokenize.ts';
import { startIntake, type DocsDigest } from './intake.ts';
import { createSharedPieces } from '../tokenizer/shared-pieces.ts';
import { permutation } from './shuffle.ts';

// A plain string for cacheDir here: in a pipeline file it is relative to the file, which is the
// node's business (nodes/batch-packer.ts declares it with pathParam()).
export const PackerParams = z
  .object({
    seqLen: z.number().int().min(2).default(512).describe('tokens per row (T)'),
    batchSize: z.number().int().positive().default(8).describe('rows per batch (B)'),
    // No default: unset means "as many passes as the train node needs for its steps", which is
    // not the same as asking for exactly one pass (then training stops at the end of the data).
    epochs: z.number().int().positive().optional().describe('passes over the train batches; unset: repeat (reshuffled) until the train node has its steps (eval: one pass)'),
    mode: z.enum(['stream', 'fit']).default('stream').describe("'stream': documents run on across rows; 'fit': a document that fits in one row starts a new row instead of being split"),
    finalBatch: z.enum(['pad', 'keep', 'drop']).default('pad').describe('last batch of fewer than batchSize rows: pad with empty rows, keep short, or drop'),
    appendEos: z.boolean().default(true).describe('EOS after every document'),
    addSpecialTokens: z.boolean().default(true).describe("let the tokenizer add BOS etc. (never for chat-template text)"),
    padId: z.number().int().min(0).optional().describe('pad token id (default: pad_token, else eos_token)'),
    docsPerTask: z.number().int().positive().default(256).describe('documents per pool task (at most charsPerTask characters): fewer, larger tasks cost the main thread less per MB'),
    charsPerTask: z.number().int().positive().default(256 * 1024).describe('characters per pool task'),
    concurrency: z.number().int().min(0).default(0).describe('pool tasks in flight (0: twice the number of cores)'),
    shardBatches: z.number().int().positive().default(32).describe('batches per Arrow IPC shard file'),
    shuffleBatches: z.boolean().default(true).describe('reorder train batches (seeded) in epochs after the first'),
    cache: z.boolean().default(true).describe('reuse packed batches across runs: same documents (hashed as they arrive), tokenizer and packing params'),
    cacheDir: z.string().min(1).optional().describe('cache folder (default: <outputDir>/.cache/packed)'),
    spill: z.boolean().default(true).describe('drain documents to a run-local file while the tokenizer is pending (a cache lookup, which hashes every document first, spills them too)'),
    seed: z.number().int().optional().describe("batch shuffle seed (default: the run's seed)"),
  })
  .strict();
export type PackerParams = z.output<typeof PackerParams>;

export interface PackerEnv {
  name: string;
  runDir: string;
  seed: number;
  signal?: AbortSignal;
  runOnPool<T>(modulePath: string, exportName: string, arg: unknown, transfer?: ArrayBuffer[]): Promise<T>;
  emit?(event: DataEvent): void;
  /** The progress display's note beside this node's counts (the cache hit, or the build under way). */
  status?(line: string): void;
}

/** What happened, for events and tests. */
export interface PackerStatus {
  cache: 'hit' | 'built' | 'run-local' | 'pending';
  dir: string;
  /** The packing's cache key (tokenizer, params and the documents' digest); null when run-local. */
  key: string | null;
  /** Count and sha256 of the documents that reached the packer (known once all were read). */
  docs?: DocsDigest;
  tokenizeCalls: number;
  spilled: number;
  stats: Record<Split, PackStats> | null;
}

export interface PackerHandle {
  train: AsyncIterable<PackedBatch>;
  eval: AsyncIterable<PackedBatch>;
  status: PackerStatus;
  /** Resolves when the shards are complete (or rejects with the build error). */
  built: Promise<void>;
}

const WORKER = fileURLToPath(new URL('./pack-worker.ts', import.meta.url));

/** Params that change the batches (in the cache key); epochs, shuffling and task sizes do not. */
function keyParams(p: PackerParams, padId: number): unknown {
  return { seqLen: p.seqLen, batchSize: p.batchSize, mode: p.mode, finalBatch: p.finalBatch, appendEos: p.appendEos, addSpecialTokens: p.addSpecialTokens, padId };
}

export function createPacker(
  docs: AsyncIterable<Document>,
  tokenizer: Promise<TokenizerArtifact>,
  fingerprint: Promise<{ hash: string }> | null,
  p: PackerParams,
  env: PackerEnv,
): PackerHandle {
  // Observed here so a failure surfaces once, through `built` and the outputs.
  tokenizer.catch(() => {});
  fingerprint?.catch(() => {});
  const status: PackerStatus = { cache: 'pending', dir: '', key: null, tokenizeCalls: 0, spilled: 0, stats: null };
  const local = path.join(env.runDir, 'packer', env.name);
  const intake = startIntake(docs, `${local}.spill.jsonl`, tokenizer, p.spill);
  let resolveLogs!: (l: Record<Split, ShardLog>) => void;
  let rejectLogs!: (e: unknown) => void;
  const logsReady = new Promise<Record<Split, ShardLog>>((res, rej) => ((resolveLogs = res), (rejectLogs = rej)));
  logsReady.catch(() => {});
  let resolveCache!: (c: PackCacheInfo) => void;
  const cacheKnown = new Promise<PackCacheInfo>((res) => (resolveCache = res));
  // The user sees at once whether this run packs or reuses (a big corpus packs for minutes).
  const decided = (c: PackCacheInfo) => {
    resolveCache(c);
    env.status?.(c.status === 'hit' ? `pack cache hit: ${c.dir}` : c.status === 'built' ? `building pack cache: ${c.dir}` : `packing into the run folder (cache off): ${c.dir}`);
  };

  const built = (async () => {
    const artifact = await tokenizer;
    const { eosId, padId: tokPad } = specialIds(artifact);
    const padId = p.padId ?? tokPad;
    if (p.appendEos && eosId === null) throw new PackerConfigInvalid('appendEos is on but the tokenizer has no eos_token id; set appendEos: false');
    const root = p.cacheDir ?? path.join(path.dirname(env.runDir), '.cache', 'packed');
    const corpus = p.cache && fingerprint ? (await fingerprint).hash : null;
    const family = p.cache ? path.join(root, familyKey(artifact.hash, keyParams(p, padId), corpus)) : null;
    if (family) {
      // Earlier packings with this tokenizer and these params: which one, if any, packed exactly
      // these documents is known only from all of them, so hash them all first (spilled, so a
      // miss still packs them). Nothing is tokenized for a hit.
      const builds = await completeBuilds(family);
      if (builds.length > 0) {
        const digest = await intake.drainAll();
        let hit = matchingBuild(builds, digest);
        const bad = hit ? await verifyShards(hit.dir, hit.manifest) : null;
        if (hit && bad) {
          // Never train on bytes the cache did not write: drop the build (the cache's own folder) and pack again.
          env.emit?.({ type: 'warning', message: `pack cache: shard ${bad.file} does not match its checksum (sha256 ${bad.actual.slice(0, 16)}…, recorded ${bad.expected.slice(0, 16)}…); rebuilding ${hit.dir}` });
          await rm(hit.dir, { recursive: true, force: true }).catch(() => {});
          hit = undefined;
        }
        if (hit) {
          Object.assign(status, { cache: 'hit', dir: hit.dir, key: hit.manifest.key, docs: digest, spilled: intake.spilled });
          status.stats = { train: hit.manifest.splits.train.stats, eval: hit.manifest.splits.eval.stats };
          await intake.close();
          decided({ status: 'hit', dir: hit.dir });
          resolveLogs(logsFromManifest(hit.dir, hit.manifest));
          return;
        }
      }
    }
    const dir = family ? await newBuild(family) : local;
    if (!family) await claimLocal(dir);
    status.cache = family ? 'built' : 'run-local';
    status.dir = dir;
    decided({ status: status.cache, dir });
    // Batch arrays go back to the packers once their shard is written: up to two shards' worth wait.
    const recycler = new BatchRecycler(p.seqLen * p.batchSize, 2 * p.shardBatches);
    const writer = new ShardWriter(dir, p.seqLen, p.shardBatches, (arrays) => arrays.forEach((a) => recycler.give(a)));
    resolveLogs(writer.logs);
    try {
      // The tokenizer file for pool threads goes beside the batches: shared cache or run folder.
      const stats = await build(intake.docs(), artifact, eosId, padId, writer, recycler, family ? root : path.dirname(local), p, env, status);
      const digest = intake.digest()!;
      status.spilled = intake.spilled;
      status.stats = stats;
      status.docs = digest;
      status.key = family ? buildKey(family, digest) : null;
      const inputs = { docs: digest, tokenizer: artifact.hash, params: keyParams(p, padId), ...(corpus ? { corpus } : {}) };
      await writer.commit({ key: status.key ?? 'run-local', seqLen: p.seqLen, batchSize: p.batchSize, inputs }, stats, family !== null);
    } catch (e) {
      writer.fail(e);
      // A build that failed is never trusted; its folder would only be swept later. Its shard
      // writes finish first, so none lands in the folder after it is removed.
      await writer.settle();
      if (family) await rm(dir, { recursive: true, force: true }).catch(() => {});
      throw e;
    }
  })();
  built.catch((e) => rejectLogs(e));
  built.then(() => {
    env.emit?.({ type: 'pack-summary', ...status });
    env.status?.(status.cache === 'built' ? `pack cache built: ${status.dir}` : status.cache === 'run-local' ? `packed into the run folder (cache off): ${status.dir}` : `pack cache hit: ${status.dir}`);
  }, () => {});

  const seed = p.seed ?? env.seed;
  const stream = (split: Split, epochs: number | null): AsyncIterable<PackedBatch> => ({
    async *[Symbol.asyncIterator]() {
      const l = (await logsReady)[split];
      // The train batches say what the stream holds (values: PackPlan); the count once it is known for certain.
      const cache = split === 'train' ? await cacheKnown : undefined;
      const plan: PackPlan = { epochs, ...(cache ? { cache } : {}) };
      const counted = async (): Promise<PackPlan> => ({ ...plan, batchesPerEpoch: await countBatches(logsReady, 'train') });
      let planNow = split === 'train' && epochs !== null ? await counted() : plan;
      // epochs null: pass after pass until the consumer stops pulling (the train node, at its steps).
      for (let epoch = 0; epochs === null || epoch < epochs; epoch++) {
        let index = 0;
        const emit = async function* (i: number, shuffle: boolean) {
          const batches = await readIpcFile(path.join(l.dir, l.shards[i].file));
          const order = shuffle ? permutation(batches.length, seed + epoch * 7919 + i) : batches.map((_, k) => k);
          for (const k of order) {
            const b: PackedBatch = { batch: batches[k], seqLen: p.seqLen, split, epoch, index: index++ };
            if (split === 'train') b.plan = planNow;
            yield b;
          }
        };
        if (epoch === 1 && split === 'train' && planNow.batchesPerEpoch === undefined) planNow = await counted();
        if (epoch === 0 || !p.shuffleBatches) {
          // Epoch 0 follows the build: each shard as soon as it is committed.
          for (let i = 0; await l.waitFor(i); i++) yield* emit(i, false);
        } else {
          await l.waitFor(Number.MAX_SAFE_INTEGER);
          for (const i of permutation(l.shards.length, seed + epoch)) yield* emit(i, true);
        }
        // An empty split has nothing to repeat: without this an endless stream would spin.
        if (index === 0) return;
      }
    },
  });
  return { train: stream('train', p.epochs ?? null), eval: stream('eval', 1), status, built };
}

/** Batches of one split once the build is complete (a failed build rejects; observed, so never unhandled). */
function countBatches(logs: Promise<Record<Split, ShardLog>>, split: Split): Promise<number> {
  const n = logs.then(async (l) => {
    await l[split].waitFor(Number.MAX_SAFE_INTEGER);
    return l[split].shards.reduce((a, s) => a + s.batches, 0);
  });
  n.catch(() => {});
  return n;
}

async function claimLocal(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

interface Group {
  docs: Document[];
}

/** Groups documents into pool tasks by count and characters. */
async function* groups(docs: AsyncIterable<Document>, maxDocs: number, maxChars: number): AsyncGenerator<Group> {
  let cur: Document[] = [];
  let chars = 0;
  for await (const d of docs) {
    cur.push(d);
    chars += d.text.length;
    if (cur.length >= maxDocs || chars >= maxChars) {
      yield { docs: cur };
      cur = [];
      chars = 0;
    }
  }
  if (cur.length > 0) yield { docs: cur };
}

async function build(
  docs: AsyncIterable<Document>,
  artifact: TokenizerArtifact,
  eosId: number | null,
  padId: number,
  writer: ShardWriter,
  recycler: BatchRecycler,
  tokenizerRoot: string,
  p: PackerParams,
  env: PackerEnv,
  status: PackerStatus,
): Promise<Record<Split, PackStats>> {
  const file = await tokenizerFile(tokenizerRoot, artifact);
  // One piece cache for every pool thread of this packing: a piece one thread has encoded is a hit
  // for the others (see src/tokenizer/shared-pieces.ts).
  const pieces = createSharedPieces(artifact.hash);
  const packers: Record<Split, Packer> = {
    train: new Packer({ seqLen: p.seqLen, batchSize: p.batchSize, mode: p.mode, padId, finalBatch: p.finalBatch, recycler }),
    eval: new Packer({ seqLen: p.seqLen, batchSize: p.batchSize, mode: p.mode, padId, finalBatch: p.finalBatch, recycler }),
  };
  // Two tasks per core in flight: a pool thread finds its next task queued while the main thread
  // collects its last result (with one per core the threads idled ~13% between tasks; on 2 cores
  // 2 threads went from 1.57x to 1.77x one thread's tokenize rate).
  const concurrency = p.concurrency > 0 ? p.concurrency : 2 * Math.max(1, os.availableParallelism());
  // Ordered results: the packing (and so the cache) is the same with any number of threads.
  const results = boundedParallel(
    groups(docs, p.docsPerTask, p.charsPerTask),
    async (g: Group) => {
      status.tokenizeCalls++;
      const task: TokenizeTask = {
        tokenizerFile: file,
        tokenizerHash: artifact.hash,
        addSpecialTokens: p.addSpecialTokens,
        appendEos: p.appendEos,
        eosId,
        docs: tokenizeDocsOf(g.docs),
        pieces,
      };
      const r = await env.runOnPool<TokenizedDocs>(WORKER, 'tokenize', task);
      return { splits: g.docs.map((d) => d.split), r };
    },
    { concurrency, highWaterMark: concurrency, ordered: true },
  );
  for await (const { splits, r } of results) {
    if (env.signal?.aborted) throw env.signal.reason ?? new Error('aborted');
    let at = 0;
    for (let i = 0; i < splits.length; i++) {
      const n = r.lens[i];
      const split = splits[i];
      // [n] views into the transferred task buffers; the packer copies them into its rows.
      for (const b of packers[split].add(r.ids.subarray(at, at + n), r.labels.subarray(at, at + n))) await writer.add(split, b);
      at += n;
    }
  }
  for (const s of SPLITS) for (const b of packers[s].finish()) await writer.add(s, b);
  return { train: packers.train.stats, eval: packers.eval.stats };
}
