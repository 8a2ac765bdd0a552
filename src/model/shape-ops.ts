// The op vocabulary (tensor-ops.ts) on shapes alone: each op returns the shape its TF.js counterpart would make,
// allocating and computing nothing. Running the model's math on it tells, before any weight is loaded, which tensors
// a piece of the pass keeps and how large they are: the step memory plan reads a layer's record this way
// (src/train/step-phases.ts), so what layer.ts keeps for the backward is read from layer.ts itself.
import type * as tf from '@tensorflow/tfjs';
import type { Ops } from './tensor-ops.ts';

/** A tensor as shape-ops knows it: its shape. Each op makes a new one (identity matters: records share tensors). */
export interface Sym {
  shape: number[];
}

const sym = (shape: number[]): Sym => ({ shape });
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** NumPy broadcasting of two shapes (a number is a scalar). */
function broadcast(a: Sym | number, b: Sym | number): Sym {
  const x = typeof a === 'number' ? [] : a.shape;
  const y = typeof b === 'number' ? [] : b.shape;
  const n = Math.max(x.length, y.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = x[x.length - n + i] ?? 1;
    const q = y[y.length - n + i] ?? 1;
    out.push(p === 1 ? q : p);
  }
  return sym(out);
}

function reduce(x: Sym, axis: number | undefined, keepDims = false): Sym {
  if (axis === undefined) return sym([]);
  const a = axis < 0 ? x.shape.length + axis : axis;
  return sym(keepDims ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a));
}

/** Batched product [..., M, K]·[..., K, N] → [..., M, N] (leading axes broadcast). */
function product(a: Sym, b: Sym): Sym {
  const lead = broadcast(sym(a.shape.slice(0, -2)), sym(b.shape.slice(0, -2))).shape;
  return sym([...lead, a.shape[a.shape.length - 2], b.shape[b.shape.length - 1]]);
}

export const shapeOps: Ops<Sym> = {
  dataBranches: true, // the TF.js path: the plan models what the wasm engine runs
  shape: (x) => x.shape,
  tidy: (f) => f(),
  dispose: () => {},
  keep: (x) => x,
  frozen: (t) => sym([...(t as unknown as Sym).shape]),
  hosted: (t) => sym([...(t as unknown as Sym).shape]),
  feed: (_data, shape) => sym(shape),
  feedScalar: () => sym([]),
  constant: (_data, shape) => sym(shape),
  fillRows: (like, cols) => sym([like.shape[0], cols]),
  zerosRows: (like, cols) => sym([like.shape[0], cols]),
  zerosLike: (x) => sym(x.shape),
  zeros: (shape) => sym(shape),
  add: broadcast,
  sub: broadcast,
  mul: broadcast,
  sigmoid: (x) => sym(x.shape),
  maximum: broadcast,
  exp: (x) => sym(x.shape),
  log: (x) => sym(x.shape),
  rsqrt: (x) => sym(x.shape),
  square: (x) => sym(x.shape),
  softmax: (x) => sym(x.shape),
  clone: (x) => sym(x.shape),
  matMul: product,
  bmm: product,
  linear: (x, W) => sym([x.shape[0], W.shape[0]]), // x [N, in]·Wᵀ, W [out, in]
  linearBackward: (dy, W) => sym([dy.shape[0], W.shape[1]]),
  dropoutKeep: (seeds, T, inF) => sym([seeds.length * T, inF]),
  transpose: (x, perm) => sym((perm ?? x.shape.map((_, i) => x.shape.length - 1 - i)).map((i) => x.shape[i])),
  reshape: (x, shape) => {
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    return sym(shape.map((d) => (d === -1 ? size(x.shape) / known : d)));
  },
  slice: (x, begin, sz) => sym(sz.map((d, i) => (d === -1 ? x.shape[i] - begin[i] : d))),
  concat: (xs, axis = 0) => {
    const a = axis < 0 ? xs[0].shape.length + axis : axis;
    return sym(xs[0].shape.map((d, i) => (i === a ? xs.reduce((n, x) => n + x.shape[a], 0) : d)));
  },
  gather: (x, indices, axis = 0) => sym([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)]),
  oneHot: (indices, depth) => sym([indices.length, depth]),
  sum: reduce,
  max: reduce,
  mean: reduce,
  argMax: (x, axis) => reduce(x, axis),
};

/** A stand-in for a model tensor of this shape, for the parts of the model the math reads through frozen/hosted. */
export const shaped = (shape: number[]): tf.Tensor => sym(shape) as unknown as tf.Tensor;
