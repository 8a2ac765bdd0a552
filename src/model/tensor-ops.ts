// The op vocabulary the model's math is written against, so that one source serves both engines (issue 22): the
// eager TF.js implementation below (each op is exactly the tf call the code made before, in the same order, so
// wasm numbers stay bit-identical), and the ONNX graph builder (onnx-ops.ts), which records the same calls as
// nodes of one graph that ONNX Runtime runs whole.
//
// Data from JS enters in one of three ways, and the difference matters only to the graph: `feed` is per-call data
// (target rows, one-hot picks, the loss weight) and becomes a graph input, with `vary` naming the axes whose length
// changes between calls (the number of scored rows M); `constant` is data fixed by the configuration (a chunk's mask
// of replaced ids) and becomes part of the graph; a frozen model tensor is handed over by the caller (TF.js: the
// tensor itself; the graph: an initializer).
import * as tf from '@tensorflow/tfjs';
import { bmm, frozenLinear, frozenLinearBackward } from './ops.ts';
import type { RopeTables } from './rope.ts';
import { tidy } from './scope.ts';

export type OpDtype = 'float32' | 'int32';

export interface Ops<T> {
  /**
   * True when the math may branch on per-call data to skip work (TF.js, eager: each call takes its own path). A graph
   * is built once for every call of a shape: it takes the general path, so one session serves them all.
   */
  readonly dataBranches: boolean;
  shape(x: T): number[];
  /** Memory scopes: TF.js frees what a scope made and did not return; a graph has nothing to free. */
  tidy<R>(f: () => R): R;
  dispose(xs: T | T[]): void;
  /** Keeps x past the enclosing scopes (a record the backward reads). */
  keep(x: T): T;

  /** A frozen model tensor (TF.js: the tensor; a graph: an initializer, read once). */
  frozen(t: tf.Tensor): T;
  /** A host tensor whose values change between calls (trainable params, RoPE tables, the mask): a graph input. */
  hosted(t: tf.Tensor): T;

  feed(data: Float32Array | Int32Array, shape: number[], dtype: OpDtype, vary?: Array<string | null>): T;
  /** A float32 scalar that changes between calls (the loss weight). */
  feedScalar(v: number): T;
  constant(data: Float32Array | Int32Array, shape: number[], dtype: OpDtype): T;

  /** [rows of `like`, cols] filled with `value` (rows follow `like`: they may vary between calls). */
  fillRows(like: T, cols: number, value: number): T;
  zerosRows(like: T, cols: number): T;
  zerosLike(x: T): T;
  zeros(shape: number[]): T;

  add(a: T, b: T | number): T;
  sub(a: T | number, b: T | number): T;
  mul(a: T, b: T | number): T;
  sigmoid(x: T): T;
  maximum(a: T, b: T): T;
  exp(x: T): T;
  log(x: T): T;
  rsqrt(x: T): T;
  square(x: T): T;
  softmax(x: T): T;
  clone(x: T): T;

  /** Plain product of the last two axes (no transpose flags: the wasm fast path, ops.ts). */
  matMul(a: T, b: T): T;
  /** Batched product a [..., M, K] · b [..., K, N] (TF.js: ops.ts bmm, split per element on wasm). */
  bmm(a: T, b: T): T;
  /** x [N, in] · Wᵀ for a frozen W [out, in] (TF.js: ops.ts frozenLinear, the cheaper plain form). */
  linear(x: T, W: T): T;
  /** dy [N, out] · W for a frozen W [out, in]: the input's gradient (TF.js: ops.ts frozenLinearBackward). */
  linearBackward(dy: T, W: T): T;
  /**
   * LoRA dropout's multiplier keep/(1−p) [rows·T, inF], one seeded uniform draw per row: drawn by TF.js in JS on
   * every engine (a graph gets the mask as an input), so masks agree across engines, threads and recomputation.
   */
  dropoutKeep(seeds: number[], T: number, inF: number, p: number): T;
  /** Reverses the axes (2-D: the matrix transpose), or permutes them by `perm`. */
  transpose(x: T, perm?: number[]): T;
  reshape(x: T, shape: number[]): T;
  slice(x: T, begin: number[], size: number[]): T;
  concat(xs: T[], axis?: number): T;
  gather(x: T, indices: T, axis?: number): T;
  /** float32 one-hot [n, depth] of per-call indices (−1: an all-zero row). */
  oneHot(indices: Int32Array, depth: number, vary?: Array<string | null>): T;

  /** Reductions over one axis (keepDims as tf), or over all axes when `axis` is omitted. */
  sum(x: T, axis?: number, keepDims?: boolean): T;
  max(x: T, axis: number, keepDims?: boolean): T;
  mean(x: T, axis: number, keepDims?: boolean): T;
  /** int32 index of the first maximum along `axis` (the axis dropped). */
  argMax(x: T, axis: number): T;

  /**
   * Steps an engine runs in fewer passes over memory than the primitives above would take (ONNX Runtime's
   * RotaryEmbedding and SimplifiedLayerNormalization, one kernel each: onnx-fused.ts). Absent (TF.js, the shape
   * record): rope.ts, norm.ts and layer.ts spell them out in the primitives, so the wasm numbers stay exactly as
   * they were.
   */
  readonly fused?: FusedOps<T>;
}

/** The fused steps (see Ops.fused): the same math as rope.ts / norm.ts, to float rounding. */
export interface FusedOps<T> {
  /**
   * x [N, heads, D] rotated by the tables' angles, then · `scale` (applyRopeOps); `inverse`: its transpose, the
   * scale first (applyRopeBackwardOps).
   */
  rope(x: T, t: RopeTables, scale: number, inverse: boolean): T;
  /** RMSNorm over the last axis: y = w · x · r and r = 1/sqrt(mean(x²) + eps) [..., 1] (rmsNormOps). */
  rmsNorm(x: T, w: T, eps: number): { y: T; r: T };
  /**
   * The MLP's elementwise backward (layer.ts): m = silu(g)·u, dm → dg = dm·u·silu'(g) and du = dm·silu(g), in fewer
   * passes over [N, I] than the memory-frugal order TF.js takes.
   */
  swigluBackward(dm: T, g: T, u: T): { dg: T; du: T };
}

/** The eager TF.js implementation: each op the tf call it stands for. */
export const tfOps: Ops<tf.Tensor> = {
  dataBranches: true,
  shape: (x) => x.shape,
  tidy: (f) => tidy(f),
  dispose: (xs) => tf.dispose(xs),
  keep: (x) => tf.keep(x),
  frozen: (t) => t,
  hosted: (t) => t,
  feed: (data, shape, dtype) => tf.tensor(data, shape, dtype),
  feedScalar: (v) => tf.scalar(v),
  constant: (data, shape, dtype) => tf.tensor(data, shape, dtype),
  fillRows: (like, cols, value) => tf.fill([like.shape[0], cols], value),
  zerosRows: (like, cols) => tf.zeros([like.shape[0], cols]),
  zerosLike: (x) => tf.zerosLike(x),
  zeros: (shape) => tf.zeros(shape),
  add: (a, b) => tf.add(a, b),
  sub: (a, b) => tf.sub(a, b),
  mul: (a, b) => tf.mul(a, b),
  sigmoid: (x) => tf.sigmoid(x),
  maximum: (a, b) => tf.maximum(a, b),
  exp: (x) => tf.exp(x),
  log: (x) => tf.log(x),
  rsqrt: (x) => tf.rsqrt(x),
  square: (x) => tf.square(x),
  softmax: (x) => tf.softmax(x),
  clone: (x) => tf.clone(x),
  matMul: (a, b) => tf.matMul(a, b),
  bmm: (a, b) => bmm(a, b),
  linear: (x, W) => frozenLinear(x as tf.Tensor2D, W as tf.Tensor2D),
  linearBackward: (dy, W) => frozenLinearBackward(dy as tf.Tensor2D, W as tf.Tensor2D),
  dropoutKeep: (seeds, T, inF, p) => dropoutKeep(seeds, T, inF, p),
  transpose: (x, perm) => tf.transpose(x, perm),
  reshape: (x, shape) => tf.reshape(x, shape),
  slice: (x, begin, size) => tf.slice(x, begin, size),
  concat: (xs, axis) => tf.concat(xs, axis),
  gather: (x, indices, axis) => tf.gather(x, indices, axis),
  oneHot: (indices, depth) => tf.oneHot(tf.tensor1d(indices, 'int32'), depth).cast('float32'),
  sum: (x, axis, keepDims) => tf.sum(x, axis, keepDims),
  max: (x, axis, keepDims) => tf.max(x, axis, keepDims),
  mean: (x, axis, keepDims) => tf.mean(x, axis, keepDims),
  argMax: (x, axis) => tf.argMax(x, axis),
};

/** The dropout multiplier as tfOps makes it (and a graph feeds it): keep/(1−p), one seeded [T, inF] draw per row. */
export function dropoutKeep(seeds: number[], T: number, inF: number, p: number): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = seeds.map((seed) => tf.randomUniform([T, inF], 0, 1, 'float32', seed));
    const u = rows.length === 1 ? rows[0] : tf.concat(rows, 0); // [B·T, in]
    return tf.mul(u.greaterEqual(p).cast('float32'), 1 / (1 - p)) as tf.Tensor2D;
  });
}
