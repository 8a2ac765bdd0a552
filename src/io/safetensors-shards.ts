// A model folder's weights: `model.safetensors`, or shards listed by `model.safetensors.index.json`
// (Hugging Face layout: `model-0000k-of-0000N.safetensors`, index `{"metadata": {"total_size"},
// "weight_map": {name: shard}}`). Like transformers, a single file wins over an index.
import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { SafetensorsIndexError, SafetensorsTensorNotFound } from '../errors.ts';
import type { TypedArray } from './dtypes.ts';
import { SafetensorsFile } from './safetensors-file.ts';
import type { TensorInfo } from './safetensors-header.ts';
import { layout, prepareTensors, type TensorToWrite } from './safetensors-write.ts';
import { writeFileAtomic } from './atomic.ts';

export interface WeightSetOptions {
  /** File name stem: 'model' (default) reads model.safetensors / model.safetensors.index.json. */
  prefix?: string;
}

export class WeightSet {
  private constructor(
    /** The folder (or the single file when opened on a file). */
    readonly source: string,
    private readonly files: SafetensorsFile[],
    private readonly owner: Map<string, SafetensorsFile>,
  ) {}

  /** Opens a model folder, or one .safetensors file directly. */
  static async open(dir: string, opts: WeightSetOptions = {}): Promise<WeightSet> {
    const prefix = opts.prefix ?? 'model';
    if (dir.endsWith('.safetensors') && (await isFile(dir))) return WeightSet.single(dir, dir);
    const single = path.join(dir, `${prefix}.safetensors`);
    if (await isFile(single)) return WeightSet.single(dir, single);
    const indexPath = path.join(dir, `${prefix}.safetensors.index.json`);
    if (!(await isFile(indexPath))) {
      throw new SafetensorsIndexError(dir, `no weights found: neither ${prefix}.safetensors nor ${prefix}.safetensors.index.json exists`);
    }
    return WeightSet.sharded(dir, indexPath);
  }

  private static async single(source: string, file: string): Promise<WeightSet> {
    const f = await SafetensorsFile.open(file);
    return new WeightSet(source, [f], new Map(f.names().map((n) => [n, f])));
  }

  private static async sharded(dir: string, indexPath: string): Promise<WeightSet> {
    const weightMap = await readIndex(indexPath);
    const byShard = new Map<string, string[]>();
    for (const [name, shard] of Object.entries(weightMap)) {
      const list = byShard.get(shard) ?? [];
      list.push(name);
      byShard.set(shard, list);
    }
    const files: SafetensorsFile[] = [];
    const owner = new Map<string, SafetensorsFile>();
    try {
      for (const [shard, names] of byShard) {
        const shardPath = path.join(dir, shard);
        if (!(await isFile(shardPath))) {
          throw new SafetensorsIndexError(indexPath, `shard file "${shard}" listed in weight_map is missing (looked for ${shardPath})`, names[0]);
        }
        const f = await SafetensorsFile.open(shardPath);
        files.push(f);
        for (const name of names) {
          if (!f.has(name)) {
            throw new SafetensorsIndexError(indexPath, `weight_map puts it in "${shard}" but that file has no such tensor`, name);
          }
          owner.set(name, f);
        }
      }
    } catch (e) {
      await Promise.all(files.map((f) => f.close()));
      throw e;
    }
    return new WeightSet(dir, files, owner);
  }

  names(): string[] {
    return [...this.owner.keys()];
  }

  has(name: string): boolean {
    return this.owner.has(name);
  }

  info(name: string): TensorInfo {
    return this.file(name).info(name);
  }

  /** `__metadata__` of the first file (shards written together carry the same). */
  get metadata(): Record<string, string> {
    return this.files[0]?.metadata ?? {};
  }

  async readF32(name: string): Promise<Float32Array> {
    return this.file(name).readF32(name);
  }

  async readF32Chunks(name: string, write: (values: Float32Array, offset: number) => void): Promise<void> {
    return this.file(name).readF32Chunks(name, write);
  }

  async readRaw(name: string): Promise<Uint8Array> {
    return this.file(name).readRaw(name);
  }

  async read(name: string): Promise<TypedArray> {
    return this.file(name).read(name);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }

  private file(name: string): SafetensorsFile {
    const f = this.owner.get(name);
    if (f === undefined) throw new SafetensorsTensorNotFound(this.source, name);
    return f;
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function readIndex(indexPath: string): Promise<Record<string, string>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (e) {
    throw new SafetensorsIndexError(indexPath, `index is not valid JSON (${(e as Error).message})`);
  }
  const wm = (json as { weight_map?: unknown } | null)?.weight_map;
  if (wm === null || typeof wm !== 'object' || Array.isArray(wm)) {
    throw new SafetensorsIndexError(indexPath, 'index needs a "weight_map" object mapping tensor names to shard files');
  }
  for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '' || shard !== path.basename(shard) || shard === '..' || shard.includes('\\')) {
      throw new SafetensorsIndexError(indexPath, `weight_map value must be a shard file name in the same folder, got ${JSON.stringify(shard)}`, name);
    }
  }
  return wm as Record<string, string>;
}

export interface ShardOptions {
  /** Greedy split in the given tensor order, like huggingface_hub; a bigger tensor gets its own shard. */
  maxShardBytes: number;
  metadata?: Record<string, string>;
  /** File name stem, default 'model'. */
  prefix?: string;
}

const pad5 = (k: number) => String(k).padStart(5, '0');

/**
 * Writes `dir/model.safetensors` when everything fits one shard (as save_pretrained does), else
 * `model-0000k-of-0000N.safetensors` plus `model.safetensors.index.json` (written last). Files
 * from an earlier save that the new layout would shadow or orphan are removed afterwards.
 */
export async function writeShardedSafetensors(dir: string, tensors: TensorToWrite[], opts: ShardOptions): Promise<void> {
  const prefix = opts.prefix ?? 'model';
  const indexName = `${prefix}.safetensors.index.json`;
  if (!(opts.maxShardBytes > 0)) throw new SafetensorsIndexError(path.join(dir, indexName), `maxShardBytes must be positive, got ${opts.maxShardBytes}`);
  await mkdir(dir, { recursive: true });
  const prepared = prepareTensors(dir, tensors);
  const shards: (typeof prepared)[] = [];
  let current: typeof prepared = [];
  let currentBytes = 0;
  for (const t of prepared) {
    const n = t.bytes.byteLength;
    if (n > opts.maxShardBytes) {
      shards.push([t]);
      continue;
    }
    if (currentBytes + n > opts.maxShardBytes && current.length > 0) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(t);
    currentBytes += n;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);

  const names =
    shards.length === 1 ? [`${prefix}.safetensors`] : shards.map((_, k) => `${prefix}-${pad5(k + 1)}-of-${pad5(shards.length)}.safetensors`);
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (let k = 0; k < shards.length; k++) {
    const file = path.join(dir, names[k]);
    const { header, order } = layout(shards[k], opts.metadata, file);
    await writeFileAtomic(file, [header, ...order.map((t) => t.bytes)]);
    for (const t of shards[k]) {
      weightMap[t.name] = names[k];
      totalSize += t.bytes.byteLength;
    }
  }
  if (shards.length > 1) {
    // Same form as huggingface_hub: indent 2, sorted keys.
    const sorted = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]]));
    const index = JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sorted }, null, 2) + '\n';
    await writeFileAtomic(path.join(dir, indexName), index);
  }
  await removeStale(dir, prefix, new Set(names), shards.length > 1);
}

async function removeStale(dir: string, prefix: string, keep: Set<string>, sharded: boolean): Promise<void> {
  const esc = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const shardRe = new RegExp(`^${esc}-\\d{5}-of-\\d{5}\\.safetensors$`);
  for (const f of await readdir(dir)) {
    const stale =
      (shardRe.test(f) && !keep.has(f)) ||
      (sharded && f === `${prefix}.safetensors`) ||
      (!sharded && f === `${prefix}.safetensors.index.json`);
    if (stale) await unlink(path.join(dir, f));
  }
}
