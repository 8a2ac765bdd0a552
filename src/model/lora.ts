// LoRA adapters for the linear layers of a Llama-family model, initialised as PEFT does:
// A ~ kaiming_uniform(a=sqrt(5)) over fan_in = in_features, i.e. U(-1/sqrt(in), 1/sqrt(in));
// B = 0 (so the adapter starts as a no-op); output delta = B(A(dropout(x))) * scaling with
// scaling = alpha / r, or alpha / sqrt(r) with rsLoRA.
// In memory A is held as [in, r] and B as [r, out] (transposes of PEFT's lora_A [r, in] and
// lora_B [out, r]) so the forward is two plain matMuls: a transposed-b matMul is several times
// slower on the wasm backend (architecture.md §3). PEFT layout is produced at save time.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { AdapterMismatch } from '../errors.ts';
import type { ModelConfig } from './config.ts';
import { loraGradName, type LinearLora, type ModelAdapters } from './layer.ts';
import type { Param } from './params.ts';
import type { Rng } from './rng.ts';
import type { LlamaModel } from './weights.ts';

export const LINEAR_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LinearModule = (typeof LINEAR_MODULES)[number];

export const LoraConfig = z.strictObject({
  r: z.number().int().positive().default(8),
  alpha: z.number().positive().default(16),
  dropout: z.number().min(0).lt(1).default(0),
  rslora: z.boolean().default(false),
  /** Short module names, or 'all-linear' (every projection of every layer; never the lm_head, as in PEFT). */
  targetModules: z.union([z.literal('all-linear'), z.array(z.enum(LINEAR_MODULES)).min(1)]).default(['q_proj', 'v_proj']),
});
export type LoraConfig = z.infer<typeof LoraConfig>;

/** The dimensions of a Llama-family model that decide adapter and memory sizes. */
export type ModelShape = Pick<
  ModelConfig,
  'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim' | 'tieWordEmbeddings'
>;

/** The shape of a loaded model. */
export function modelShape(model: LlamaModel): ModelShape {
  const c = model.config;
  return {
    vocabSize: c.vocabSize, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, numLayers: c.numLayers,
    numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim, tieWordEmbeddings: c.tieWordEmbeddings,
  };
}

/** One adapted linear layer: its HF module path and its in/out features. */
export interface LinearTarget {
  /** e.g. 'model.layers.0.self_attn.q_proj' */
  path: string;
  module: LinearModule;
  inF: number;
  outF: number;
}

export function targetModuleNames(cfg: LoraConfig): LinearModule[] {
  return cfg.targetModules === 'all-linear' ? [...LINEAR_MODULES] : [...new Set(cfg.targetModules)];
}

/** Every adapted linear layer, in layer order then module order. */
export function loraTargets(shape: ModelShape, cfg: LoraConfig): LinearTarget[] {
  const D = shape.hiddenSize;
  const qOut = shape.numHeads * shape.headDim;
  const kvOut = shape.numKvHeads * shape.headDim;
  const dims: Record<LinearModule, [string, number, number]> = {
    q_proj: ['self_attn', D, qOut],
    k_proj: ['self_attn', D, kvOut],
    v_proj: ['self_attn', D, kvOut],
    o_proj: ['self_attn', qOut, D],
    gate_proj: ['mlp', D, shape.intermediateSize],
    up_proj: ['mlp', D, shape.intermediateSize],
    down_proj: ['mlp', shape.intermediateSize, D],
  };
  const names = targetModuleNames(cfg);
  const out: LinearTarget[] = [];
  for (let i = 0; i < shape.numLayers; i++) {
    for (const m of LINEAR_MODULES) {
      if (!names.includes(m)) continue;
      const [block, inF, outF] = dims[m];
      out.push({ path: `model.layers.${i}.${block}.${m}`, module: m, inF, outF });
    }
  }
  return out;
}

export function loraScaling(cfg: Pick<LoraConfig, 'r' | 'alpha' | 'rslora'>): number {
  return cfg.rslora ? cfg.alpha / Math.sqrt(cfg.r) : cfg.alpha / cfg.r;
}

/** Adapter weights in PEFT layout: A [r, in], B [out, r], row-major. */
export interface PeftLoraWeights {
  A: Float32Array;
  B: Float32Array;
  inF: number;
  outF: number;
}

/** One adapted linear. The forward and backward that use it are in src/model/layer.ts (LinearLora). */
export class LoraLayer implements LinearLora {
  constructor(
    readonly target: LinearTarget,
    readonly r: number,
    readonly scaling: number,
    readonly dropout: number,
    /** [in, r] */
    readonly A: tf.Variable<tf.Rank.R2>,
    /** [r, out] */
    readonly B: tf.Variable<tf.Rank.R2>,
    /** Position among the set's layers: seeds this layer's dropout mask. */
    readonly index: number,
  ) {}

  /** A [r, in] and B [out, r] as PEFT stores them. */
  toPeft(): PeftLoraWeights {
    const [A, B] = tf.tidy(() => [this.A.transpose(), this.B.transpose()]);
    const out = { A: A.dataSync() as Float32Array, B: B.dataSync() as Float32Array, inF: this.target.inF, outF: this.target.outF };
    A.dispose();
    B.dispose();
    return out;
  }

  dispose(): void {
    this.A.dispose();
    this.B.dispose();
  }
}

/** All LoRA layers of a model, keyed by module path; a model uses it as its `adapters`. */
export class LoraSet implements ModelAdapters {
  constructor(readonly cfg: LoraConfig, readonly layers: Map<string, LoraLayer>) {}

  // Both factories take a parsed config: it was validated where it entered (the train node's
  // params, an adapter's adapter_config.json), so it is not parsed again here.

  /** Fresh adapters: A drawn from `rng` in PEFT's [r, in] order (so one seed gives one A), B zero. */
  static init(shape: ModelShape, cfg: LoraConfig, rng: Rng): LoraSet {
    const layers = new Map<string, LoraLayer>();
    for (const t of loraTargets(shape, cfg)) {
      const bound = 1 / Math.sqrt(t.inF);
      const a = rng.fillUniform(new Float32Array(cfg.r * t.inF), -bound, bound); // [r, in]
      layers.set(t.path, LoraSet.layer(t, cfg, { A: a, B: new Float32Array(t.outF * cfg.r), inF: t.inF, outF: t.outF }, layers.size));
    }
    return new LoraSet(cfg, layers);
  }

  /** Adapters from PEFT-layout weights (a loaded adapter or checkpoint). */
  static fromPeft(shape: ModelShape, cfg: LoraConfig, weights: Map<string, PeftLoraWeights>): LoraSet {
    const layers = new Map<string, LoraLayer>();
    for (const t of loraTargets(shape, cfg)) {
      const w = weights.get(t.path);
      if (!w) throw new AdapterMismatch(`LoRA weights for ${t.path} are missing`);
      layers.set(t.path, LoraSet.layer(t, cfg, w, layers.size));
    }
    return new LoraSet(cfg, layers);
  }

  private static layer(t: LinearTarget, cfg: LoraConfig, w: PeftLoraWeights, index: number): LoraLayer {
    const r = cfg.r;
    if (w.A.length !== r * t.inF || w.B.length !== t.outF * r) {
      throw new AdapterMismatch(
        `LoRA ${t.path}: expected A [${r}, ${t.inF}] and B [${t.outF}, ${r}], got ${w.A.length} and ${w.B.length} values`,
      );
    }
    const A = tf.tidy(() => tf.variable(tf.tensor2d(w.A, [r, t.inF]).transpose(), true)); // [in, r]
    const B = tf.tidy(() => tf.variable(tf.tensor2d(w.B, [t.outF, r]).transpose(), true)); // [r, out]
    return new LoraLayer(t, r, loraScaling(cfg), cfg.dropout, A as tf.Variable<tf.Rank.R2>, B as tf.Variable<tf.Rank.R2>, index);
  }

  /** Overwrites the weights (same modules and shapes) from PEFT layout, e.g. on resume. */
  load(weights: Map<string, PeftLoraWeights>): void {
    for (const [path, l] of this.layers) {
      const w = weights.get(path);
      const { inF, outF } = l.target;
      if (!w || w.A.length !== l.r * inF || w.B.length !== outF * l.r) throw new AdapterMismatch(`LoRA weights for ${path} are missing or not [${l.r}, ${inF}] / [${outF}, ${l.r}]`);
      tf.tidy(() => {
        l.A.assign(tf.tensor2d(w.A, [l.r, inF]).transpose());
        l.B.assign(tf.tensor2d(w.B, [outF, l.r]).transpose());
      });
    }
    for (const path of weights.keys()) if (!this.layers.has(path)) throw new AdapterMismatch(`LoRA weights for ${path}, which this config does not target`);
  }

  get(path: string): LoraLayer | undefined {
    return this.layers.get(path);
  }

  params(): Param[] {
    const out: Param[] = [];
    for (const [path, l] of this.layers) {
      out.push({ name: loraGradName(path, 'A'), variable: l.A }, { name: loraGradName(path, 'B'), variable: l.B });
    }
    return out;
  }

  toPeft(): Map<string, PeftLoraWeights> {
    return new Map([...this.layers].map(([path, l]) => [path, l.toPeft()]));
  }

  dispose(): void {
    for (const l of this.layers.values()) l.dispose();
  }
}
