// On-disk packed batches: Arrow IPC shards plus a manifest, one folder per cache key.
//
// Key = sha256(format version, corpus fingerprint, tokenizer hash, the packer params that
// change the batches). Trust rule: a folder is reused only if its manifest.json exists and
// every shard it lists has the recorded size. The manifest is written last, atomically
// (temp + rename), so a run killed mid-build leaves a folder without one: never trusted,
// and wiped by the next build. A `.lock` file (pid) keeps two live runs from building into
// the same folder; the second one builds run-locally instead.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { BATCH_FORMAT_VERSION, makeBatch, writeIpcFile, type BatchArrays } from '../io/arrow.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import type { TokenizerArtifact } from '../tokenizer/items.ts';
import type { PackStats } from './pack.ts';

export type Split = 'train' | 'eval';
export const SPLITS: Split[] = ['train', 'eval'];

export interface ShardInfo {
  file: string;
  batches: number;
  bytes: number;
}

export interface CacheManifest {
  version: string;
  key: string;
  seqLen: number;
  batchSize: number;
  createdAt: string;
  inputs: { corpus: string; tokenizer: string; params: unknown };
  splits: Record<Split, { shards: ShardInfo[]; stats: PackStats }>;
}

export function cacheKey(corpusHash: string, tokenizerHash: string, params: unknown): string {
  return createHash('sha256').update(JSON.stringify({ v: BATCH_FORMAT_VERSION, corpusHash, tokenizerHash, params })).digest('hex').slice(0, 32);
}

/** The manifest of a complete cache folder, or null (absent, unreadable, or a shard missing/resized). */
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
      if (!st || st.size !== sh.bytes) return null;
    }
  }
  return m;
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the build lock of `dir` (wiping an untrusted leftover); false when a live process holds it. */
export async function claim(dir: string): Promise<boolean> {
  const lock = path.join(dir, '.lock');
  if (existsSync(lock)) {
    const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    if (pid && pid !== process.pid && alive(pid)) return false;
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const fh = await open(lock, 'wx');
    await fh.writeFile(String(process.pid));
    await fh.close();
    return true;
  } catch {
    return false;
  }
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

/** Accumulates batches per split and writes a shard every `shardBatches` batches. */
export class ShardWriter {
  readonly logs: Record<Split, ShardLog>;
  private pending: Record<Split, RecordBatch[]> = { train: [], eval: [] };

  constructor(
    readonly dir: string,
    private readonly seqLen: number,
    private readonly shardBatches: number,
  ) {
    this.logs = { train: new ShardLog(dir), eval: new ShardLog(dir) };
  }

  async add(split: Split, arrays: BatchArrays): Promise<void> {
    // makeData wraps the packer's fresh buffers: no copy until the IPC writer.
    this.pending[split].push(makeBatch(arrays, this.seqLen, split));
    if (this.pending[split].length >= this.shardBatches) await this.flush(split);
  }

  async flush(split: Split): Promise<void> {
    const batches = this.pending[split];
    if (batches.length === 0) return;
    this.pending[split] = [];
    const file = `${split}-${String(this.logs[split].shards.length).padStart(6, '0')}.arrow`;
    const bytes = await writeIpcFile(path.join(this.dir, file), batches);
    this.logs[split].push({ file, batches: batches.length, bytes });
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
      await rm(path.join(this.dir, '.lock'), { force: true });
    }
    for (const s of SPLITS) this.logs[s].finish();
  }

  fail(error: unknown): void {
    for (const s of SPLITS) this.logs[s].finish(error);
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
