// Seeded random-weight Hugging Face model folders with real shapes, for benches and tests (no Python):
// config.json + generation_config.json (tools/random-model-shapes.ts), model.safetensors through the
// project's own writer (sharded with an index past HF's default 5 GB, as save_pretrained does), and the
// tokenizer files. Weights follow HF's _init_weights: normal(0, initializer_range) for every matrix,
// RMSNorm weights 1.0; biases (Qwen2 q/k/v) get small random values instead of HF's zeros so the bias
// path carries a signal. Each tensor's values depend only on (seed, tensor name).
//
//   node --import tsx tools/random-model.ts SHAPE [OUT_DIR] [--seed N]
//
// Without OUT_DIR the folder goes to .cache/models/<shape>-s<seed>/ (git-ignored) and is reused when a
// complete one is there. Folders are written under a temporary name and renamed when complete.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RandomModelInvalid } from './errors.ts';
import { f32ToBf16, writeShardedSafetensors, type TensorToWrite } from '../src/io/safetensors.ts';
import { parseModelConfig, type ModelConfig } from '../src/model/config.ts';
import { tensorPlan as modelTensorPlan } from '../src/model/tensor-plan.ts';
import { isShapeName, SHAPE_NAMES, SHAPES, type ShapeName, type ShapeSpec } from './random-model-shapes.ts';
import { tokenizerFor } from './random-model-tokenizer.ts';

export { SHAPES, SHAPE_NAMES, REAL_SHAPES, isShapeName, type ShapeName, type ShapeSpec } from './random-model-shapes.ts';

/** Bump when the bytes a (shape, seed) produces change, so cached folders are rebuilt. */
const GENERATOR_VERSION = 1;
const STAMP = 'random-model.json';
/** transformers' save_pretrained default max_shard_size ("5GB", decimal). */
export const HF_MAX_SHARD_BYTES = 5e9;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_CACHE = path.join(ROOT, '.cache', 'models');

export interface RandomModelOptions {
  seed?: number;
  /** config.json keys replaced (e.g. smaller dimensions for a test); tokenizer must then be false if vocab_size shrinks. */
  overrides?: Record<string, unknown>;
  maxShardBytes?: number;
  /** Write no tokenizer files even when the shape has a tokenizer. */
  tokenizer?: boolean;
  /** false: config, generation config and tokenizer only. */
  weights?: boolean;
}

function shapeOf(name: string): ShapeSpec {
  if (!isShapeName(name)) throw new RandomModelInvalid(`unknown shape "${name}" (known: ${SHAPE_NAMES.join(', ')})`);
  return SHAPES[name];
}

/** config.json of a shape (with overrides) as written. */
export function shapeConfigJson(name: ShapeName | string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...shapeOf(name).config, ...overrides };
}

/** The resolved ModelConfig of a shape, exactly as loadModelConfig reads the written folder. */
export function shapeModelConfig(name: ShapeName | string, overrides: Record<string, unknown> = {}): ModelConfig {
  return parseModelConfig(shapeConfigJson(name, overrides), `<shape ${name}>/config.json`, shapeOf(name).generation);
}

/** Tensor names and shapes in HF state_dict order (what src/model/weights.ts reads). */
export function tensorPlan(c: ModelConfig): Array<{ name: string; shape: number[]; init: 'normal' | 'ones' | 'bias' }> {
  return modelTensorPlan(c).map(({ name, shape, init }) => ({ name, shape, init }));
}

/** Writes the folder `dir` (replacing it) via a temporary sibling renamed at the end. */
export async function writeRandomModel(dir: string, shape: ShapeName | string, opts: RandomModelOptions = {}): Promise<string> {
  const spec = shapeOf(shape);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RandomModelInvalid(`seed must be a non-negative integer, got ${seed}`);
  const config = shapeConfigJson(shape, opts.overrides);
  const resolved = shapeModelConfig(shape, opts.overrides);
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const json = (file: string, v: unknown) => writeFile(path.join(tmp, file), JSON.stringify(v, null, 2) + '\n');
    await json('config.json', config);
    await json('generation_config.json', { ...spec.generation, _from_model_config: false });
    if (spec.tokenizer && opts.tokenizer !== false) {
      const tok = tokenizerFor(spec.tokenizer);
      if (opts.overrides?.vocab_size === undefined) checkTokenizer(shape, resolved, tok.size, tok.idOf, spec);
      await writeFile(path.join(tmp, 'tokenizer.json'), JSON.stringify(tok.tokenizerJson));
      await json('tokenizer_config.json', tok.tokenizerConfig);
    }
    if (opts.weights !== false) {
      const std = typeof config.initializer_range === 'number' ? config.initializer_range : 0.02;
      const tensors: TensorToWrite[] = tensorPlan(resolved).map(({ name, shape: dims, init }) => {
        const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
        if (init === 'ones') values.fill(1);
        else fillNormal(values, streamKey(seed, name), init === 'bias' ? std / 10 : std);
        // Converting right away keeps one float32 tensor alive at a time, not the whole model.
        return { name, dtype: spec.dtype, shape: dims, data: spec.dtype === 'BF16' ? f32ToBf16(values) : values };
      });
      await writeShardedSafetensors(tmp, tensors, { maxShardBytes: opts.maxShardBytes ?? HF_MAX_SHARD_BYTES, metadata: { format: 'pt' } });
    }
    await json(STAMP, stampOf(shape, seed, opts));
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

/** The cached folder for (shape, seed), generated first when absent or written by other code/options. */
export async function ensureRandomModel(shape: ShapeName | string, opts: RandomModelOptions & { root?: string } = {}): Promise<{ dir: string; reused: boolean }> {
  const seed = opts.seed ?? 0;
  const dir = path.join(opts.root ?? DEFAULT_CACHE, `${shape}-s${seed}`);
  if (isComplete(dir, shape, seed, opts)) return { dir, reused: true };
  await writeRandomModel(dir, shape, opts);
  return { dir, reused: false };
}

/** True when `dir` holds a folder this generator wrote for the same shape, seed and options. */
export function isComplete(dir: string, shape: string, seed: number, opts: RandomModelOptions = {}): boolean {
  const file = path.join(dir, STAMP);
  if (!existsSync(file)) return false;
  try {
    return JSON.stringify(JSON.parse(readFileSync(file, 'utf8'))) === JSON.stringify(stampOf(shape, seed, opts));
  } catch {
    return false;
  }
}

function stampOf(shape: string, seed: number, opts: RandomModelOptions) {
  return {
    generator: GENERATOR_VERSION, shape, seed, overrides: opts.overrides ?? {},
    maxShardBytes: opts.maxShardBytes ?? HF_MAX_SHARD_BYTES, tokenizer: opts.tokenizer !== false, weights: opts.weights !== false,
  };
}

function checkTokenizer(shape: string, c: ModelConfig, size: number, idOf: (s: string) => number | undefined, spec: ShapeSpec): void {
  if (size > c.vocabSize) throw new RandomModelInvalid(`${shape}: the tokenizer has ${size} ids but vocab_size is ${c.vocabSize}`);
  // The config's special ids must name the tokens the shape says they are, in this tokenizer.
  for (const [key, content] of Object.entries(spec.special ?? {})) {
    const want = idOf(content);
    const got = key === 'bos_token_id' ? c.bosTokenId : c.eosTokenIds[0];
    if (want === undefined || got !== want) {
      throw new RandomModelInvalid(`${shape}: config ${key} is ${got} but the tokenizer has ${content} at ${want ?? 'no id'}`);
    }
  }
}

// --- seeded normals ---------------------------------------------------------------------------------------

/** FNV-1a of "seed:name": one independent stream per tensor. */
function streamKey(seed: number, name: string): number {
  let h = 0x811c9dc5;
  const s = `${seed}:${name}`;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Fills `out` with normal(0, std) values: sfc32 (Doornik's small fast counter generator) seeded through
 * splitmix32, Box-Muller on 24-bit uniforms. Fast enough for the 494M values of Qwen2.5-0.5B.
 */
export function fillNormal(out: Float32Array, key: number, std: number): void {
  let x = key >>> 0;
  const mix = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };
  let a = mix(), b = mix(), c = mix(), d = 1;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next(); // sfc32's recommended warm-up
  const TWO_PI = 2 * Math.PI;
  for (let i = 0; i < out.length; i += 2) {
    const u1 = ((next() >>> 8) + 1) * 2 ** -24; // (0, 1]: log stays finite
    const u2 = (next() >>> 8) * 2 ** -24;
    const r = std * Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(TWO_PI * u2);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(TWO_PI * u2);
  }
}

// --- CLI ----------------------------------------------------------------------------------------------------

const USAGE = `usage: node --import tsx tools/random-model.ts SHAPE [OUT_DIR] [--seed N]

Writes a random-weight Hugging Face model folder with a real shape. Without OUT_DIR it goes to
.cache/models/<shape>-s<seed>/ and a complete folder already there is reused.

shapes:
${SHAPE_NAMES.map((n) => `  ${n.padEnd(16)} ${SHAPES[n].about}`).join('\n')}`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const pos: string[] = [];
  let seed = 0;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seed') seed = Number(argv[++i]);
    else if (argv[i].startsWith('--seed=')) seed = Number(argv[i].slice(7));
    else if (argv[i].startsWith('-')) throw new RandomModelInvalid(`unknown option ${argv[i]}\n${USAGE}`);
    else pos.push(argv[i]);
  }
  if (pos.length < 1 || pos.length > 2) {
    console.error(USAGE);
    return 2;
  }
  const [shape, out] = pos;
  const t0 = performance.now();
  const r = out === undefined ? await ensureRandomModel(shape, { seed }) : await reuseOrWrite(path.resolve(out), shape, seed);
  console.log(`${r.dir} (${r.reused ? 'reused' : `written in ${((performance.now() - t0) / 1000).toFixed(1)} s`})`);
  return 0;
}

async function reuseOrWrite(dir: string, shape: string, seed: number): Promise<{ dir: string; reused: boolean }> {
  if (isComplete(dir, shape, seed)) return { dir, reused: true };
  return { dir: await writeRandomModel(dir, shape, { seed }), reused: false };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      console.error(e instanceof RandomModelInvalid ? e.message : e);
      process.exitCode = e instanceof RandomModelInvalid ? 2 : 1;
    },
  );
}
