// On-disk packed batches: Arrow IPC shards plus a manifest.
//
// What decides the batches is the documents that reach the packer (whatever nodes made them),
// the tokenizer and the packing params. The last two are known before any document is read;
// the documents only once all are read. So the cache has two levels:
//   <root>/<family>/         family = sha256(format version, tokenizer hash, packing params,
//                                          and the corpus fingerprint when the reader's is wired)
//   <root>/<family>/<build>/ one complete packing; its manifest records the digest of the
//                            documents it packed (count + sha256, src/data/intake.ts)
// A rerun whose family holds builds hashes every document first and reuses the build with the
// same digest: nothing is tokenized. A family without builds packs at once, hashing as it goes.
// Trust rule: a build is reused only if its manifest.json exists, every shard it lists has the
// recorded size and (checked before use, verifyShards) the recorded sha256: a same-size overwrite
// is caught, and the packer rebuilds with a warning. The manifest is written last, atomically
// (temp + rename), so a run killed mid-build leaves a folder without one: never trusted, and removed by a later build once the
// pid in its `.lock` is gone. Each build has its own folder, so two live runs never share one.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pidAlive as alive } from '../util/pid.ts';
import type { RecordBatch } from 'apache-arrow';
import { BATCH_FORMAT_VERSION, batchArrays, makeBatch, writeIpcFile, type BatchArrays } from '../io/arrow.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import type { TokenizerArtifact } from '../tokenizer/items.ts';
import type { PackStats } from './pack.ts';
import type { DocsDigest } from './intake.ts';

export type Split = 'train' | 'eval';
export const SPLITS: Split[] = ['train', 'eval'];

export interface ShardInfo {
  file: string;
  batches: number;
  bytes: number;
  /** sha256 of the file's bytes, taken when it was written. */
  sha256: string;
}

export interface CacheManifest {
  version: string;
  /** family + documents digest: names this packing exactly. */
  key: string;
  seqLen: number;
  batchSize: number;
  createdAt: string;
  inputs: { docs: DocsDigest; tokenizer: string; params: unknown; corpus?: string };
  splits: Record<Split, { shards: ShardInfo[]; stats: PackStats }>;
}

const sha = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 32);

/** What is known before reading any document: tokenizer, packing params, and the corpus fingerprint when wired. */
export function familyKey(tokenizerHash: string, params: unknown, corpusHash: string | null): string {
  return sha({ v: BATCH_FORMAT_VERSION, tokenizerHash, params, corpusHash });
}

/** The key of one packing: its family and the documents it packed. */
export function buildKey(family: string, docs: DocsDigest): string {
  return sha({ family, docs });
}

export interface CachedBuild {
  dir: string;
  manifest: CacheManifest;
}

/** The complete, trusted builds of a family (see the trust rule above). */
export async function completeBuilds(familyDir: string): Promise<CachedBuild[]> {
  const names = await readdir(familyDir).catch(() => [] as string[]);
  const out: CachedBuild[] = [];
  for (const n of names.sort()) {
    const dir = path.join(familyDir, n);
    const manifest = await lookup(dir);
    if (manifest) out.push({ dir, manifest });
  }
  return out;
}

/** The build among `builds` that packed exactly these documents. */
export function matchingBuild(builds: CachedBuild[], docs: DocsDigest): CachedBuild | undefined {
  return builds.find((b) => b.manifest.inputs.docs?.sha256 === docs.sha256 && b.manifest.inputs.docs.count === docs.count);
}

/** The manifest of a complete cache folder, or null (absent, unreadable, or a shard missing/resized/without a checksum). */
export async function lookup(dir: string): Promise<CacheManifest | null> {
  let m: CacheManifest;
  try {
    m = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return null;
  }
  if (m.version !== BATCH_FORMAT_VERSION) return null;
  for (const s of SPLITS) {
    for (const sh of m.splits?.[s]?.shards ?? []) {
      const st = await stat(path.join(dir, sh.file)).catch(() => null);
      // A manifest from before checksums were recorded cannot be verified: rebuilt once.
      if (!st || st.size !== sh.bytes || typeof sh.sha256 !== 'string') return null;
    }
  }
  return m;
}

/**
 * The first shard of a build whose bytes no longer hash to what the manifest recorded (a same-size
 * overwrite passes the size check in lookup), or null when all match. Reads every shard once,
 * streamed: about 1 GB/s hashed, so a hit costs a read of the cache, never a retokenization.
 */
export async function verifyShards(dir: string, m: CacheManifest): Promise<{ file: string; expected: string; actual: string } | null> {
  for (const s of SPLITS) {
    for (const sh of m.splits[s].shards) {
      const file = path.join(dir, sh.file);
      const hash = createHash('sha256');
      try {
        for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      } catch (e) {
        return { file, expected: sh.sha256, actual: `unreadable (${(e as Error).message})` };
      }
      const actual = hash.digest('hex');
      if (actual !== sh.sha256) return { file, expected: sh.sha256, actual };
    }
  }
  return null;
}

/** Writes the tokenizer once where pool threads can load it by path (tasks stay small). */
export async function tokenizerFile(root: string, artifact: TokenizerArtifact): Promise<string> {
  const file = path.join(root, 'tokenizers', `${artifact.hash}.json`);
  if (!existsSync(file)) {
    const json = JSON.stringify({ tokenizerJson: artifact.tokenizerJson, tokenizerConfig: artifact.tokenizerConfig });
    await writeFileAtomic(file, json, { mkdir: true, fsync: false });
  }
  return file;
}

/**
 * A fresh folder for one build in the family, named `<time>-<pid>-<random>`: the pid in the name
 * (no lock file to write after the mkdir) tells a live build from the leftover of a killed one,
 * and leftovers (no manifest, pid gone) are removed first.
 */
export async function newBuild(familyDir: string): Promise<string> {
  await mkdir(familyDir, { recursive: true });
  for (const n of await readdir(familyDir)) {
    const dir = path.join(familyDir, n);
    if (existsSync(path.join(dir, 'manifest.json'))) continue;
    const pid = Number(/^\d+T\d+-(\d+)-/.exec(n)?.[1]);
    if (pid && (pid === process.pid || alive(pid))) continue;
    await rm(dir, { recursive: true, force: true });
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  const dir = path.join(familyDir, `${stamp}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  await mkdir(dir);
  return dir;
}

/** Shards of one split as they are committed; readers follow it while the build runs. */
export class ShardLog {
  readonly shards: ShardInfo[] = [];
  done = false;
  error: unknown = null;
  private waiters: Array<() => void> = [];

  constructor(readonly dir: string) {}

  push(s: ShardInfo): void {
    this.shards.push(s);
    this.wake();
  }

  finish(error?: unknown): void {
    this.done = true;
    if (error !== undefined) this.error = error;
    this.wake();
  }

  /** Resolves when shard `i` exists (true) or the log ended without it (false). */
  async waitFor(i: number): Promise<boolean> {
    while (i >= this.shards.length && !this.done) await new Promise<void>((r) => this.waiters.push(r));
    if (this.error) throw this.error;
    return i < this.shards.length;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Shard writes a ShardWriter lets run behind the packing (about 4 MB each at the defaults). */
const MAX_WRITES = 2;

/** Accumulates batches per split and writes a shard every `shardBatches` batches. */
export class ShardWriter {
  readonly logs: Record<Split, ShardLog>;
  private pending: Record<Split, RecordBatch[]> = { train: [], eval: [] };
  private shardsStarted: Record<Split, number> = { train: 0, eval: 0 };
  /** Shard writes in flight, oldest first; they run one after another, so shards land in order. */
  private writes: Promise<void>[] = [];
  private last: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly seqLen: number,
    private readonly shardBatches: number,
    /** Called with a shard's batch arrays once the shard is written: nothing reads them any more. */
    private readonly written: (arrays: BatchArrays[]) => void = () => {},
  ) {
    this.logs = { train: new ShardLog(dir), eval: new ShardLog(dir) };
  }

  /**
   * Adds a batch; a full shard is written in the background. Awaiting each write here held up the
   * packer's loop for the disk, and with it the pool threads waiting for their next task (they
   * idled a sixth of the time at 2 threads). Up to MAX_WRITES shards are in flight; past that, add
   * waits for the oldest, so a slow disk slows packing instead of piling batches up in memory.
   */
  async add(split: Split, arrays: BatchArrays): Promise<void> {
    // makeBatch wraps the packer's buffers (no copy until the IPC writer, which writes views of them)
    // and checks their lengths here, before anything is queued.
    this.pending[split].push(makeBatch(arrays, this.seqLen, split));
    if (this.pending[split].length >= this.shardBatches) {
      this.startFlush(split);
      while (this.writes.length > MAX_WRITES) await this.writes.shift();
    }
  }

  /** Writes what is pending of a split and waits for every write so far. */
  async flush(split: Split): Promise<void> {
    this.startFlush(split);
    while (this.writes.length > 0) await this.writes.shift();
  }

  private startFlush(split: Split): void {
    const batches = this.pending[split];
    if (batches.length === 0) return;
    this.pending[split] = [];
    const file = `${split}-${String(this.shardsStarted[split]++).padStart(6, '0')}.arrow`;
    // Chained: a failed write fails every later one, and whoever awaits next sees it.
    this.last = this.last.then(async () => {
      const { bytes, sha256 } = await writeIpcFile(path.join(this.dir, file), batches);
      this.logs[split].push({ file, batches: batches.length, bytes, sha256 });
      // The batches' columns are the packer's own buffers, whole: handed back for reuse.
      this.written(batches.map(batchArrays));
    });
    // Observed here so a failure is never unhandled; add/flush/commit still await and throw it.
    this.last.catch(() => {});
    this.writes.push(this.last);
  }

  /** Flushes both splits and, for a shared cache, writes the manifest that makes it trusted. */
  async commit(manifest: Omit<CacheManifest, 'splits' | 'version' | 'createdAt'>, stats: Record<Split, PackStats>, trusted: boolean): Promise<void> {
    for (const s of SPLITS) await this.flush(s);
    if (trusted) {
      const full: CacheManifest = {
        version: BATCH_FORMAT_VERSION,
        createdAt: new Date().toISOString(),
        ...manifest,
        splits: { train: { shards: this.logs.train.shards, stats: stats.train }, eval: { shards: this.logs.eval.shards, stats: stats.eval } },
      };
      await writeFileAtomic(path.join(this.dir, 'manifest.json'), JSON.stringify(full, null, 2), { fsync: false });
    }
    for (const s of SPLITS) this.logs[s].finish();
  }

  fail(error: unknown): void {
    for (const s of SPLITS) this.logs[s].finish(error);
  }

  /** Waits until no shard write is in flight (failed ones included): then the folder can be removed. */
  async settle(): Promise<void> {
    await this.last.catch(() => {});
    this.writes = [];
  }
}

/** A finished log (cache hit) from a manifest. */
export function logsFromManifest(dir: string, m: CacheManifest): Record<Split, ShardLog> {
  const logs = { train: new ShardLog(dir), eval: new ShardLog(dir) };
  for (const s of SPLITS) {
    for (const sh of m.splits[s].shards) logs[s].push(sh);
    logs[s].finish();
  }
  return logs;
}
