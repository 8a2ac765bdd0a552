// The graph side of the op vocabulary (tensor-ops.ts): every op becomes ONNX nodes (opset 17) in one graph, with
// shapes followed in JS from the traced call's actual sizes (the math reads them, e.g. for chunk widths). A graph
// is traced again on every call, which costs microseconds per op; its `key` (the nodes, the constants' bytes, the
// frozen tensors' identities, the inputs with their varying axes named) says when a session built before serves.
import { createHash } from 'node:crypto';
import type { OnnxAttr, OnnxDtype, OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo } from '../io/onnx-proto.ts';
import type * as tf from '@tensorflow/tfjs';
import { graphFused } from './onnx-fused.ts';
import { dropoutKeep, type FusedOps, type OpDtype, type Ops } from './tensor-ops.ts';
import { isDiskTensor } from './weights-disk.ts';

export interface Sym {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: OpDtype;
}

/** A frozen tensor the graph holds as an initializer; `read` is called once, when a session is built. */
export interface FrozenSource {
  /** Stable identity of the tensor (its id in the model): part of the graph's key. */
  id: string;
  shape: number[];
  read: () => Float32Array;
  /** Where its float32 bytes already lie (a model loaded for the native engine: weights-disk.ts); sessions built from files point there. */
  file?: { dir: string; location: string; offset: number; length: number };
}

const bytesOf = (a: Float32Array | Int32Array | BigInt64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function broadcast(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    // internal: graph-building shapes come from the model's own ops; a mismatch is a bug here.
    if (x !== y && x !== 1 && y !== 1) throw new Error(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

export class GraphOps implements Ops<Sym> {
  readonly dataBranches = false;
  readonly fused: FusedOps<Sym> = graphFused(this);
  readonly nodes: OnnxNode[] = [];
  readonly inputs: OnnxValueInfo[] = [];
  /** Per-call values of the inputs, by name. */
  readonly feeds = new Map<string, { data: Float32Array | Int32Array; shape: number[]; dtype: OpDtype }>();
  readonly constants: Array<OnnxTensor & { data: Uint8Array }> = [];
  readonly frozenSources = new Map<string, { name: string; src: FrozenSource }>();
  readonly outputs: Array<{ name: string; sym: Sym }> = [];
  private n = 0;
  private ints = new Map<string, Sym>();

  private fresh(prefix: string): string {
    return `${prefix}${this.n++}`;
  }

  /** One node with one output; `domain` for an op outside ONNX proper. */
  op(op: string, inputs: Sym[], shape: number[], dtype: OpDtype, attrs?: OnnxAttr[], domain?: string): Sym {
    return this.opOutputs(op, inputs, [[shape, dtype]], attrs, domain)[0];
  }

  /** One node with several outputs, each [shape, dtype] (ORT computes a node's optional outputs only when named). */
  opOutputs(op: string, inputs: Sym[], outs: Array<[number[], OpDtype]>, attrs?: OnnxAttr[], domain?: string): Sym[] {
    const syms = outs.map(([shape, dtype]) => ({ name: this.fresh('t'), shape, dtype }));
    this.nodes.push({ op, inputs: inputs.map((x) => x.name), outputs: syms.map((x) => x.name), ...(attrs ? { attrs } : {}), ...(domain ? { domain } : {}) });
    return syms;
  }

  /** An int64 constant vector (shapes, axes, slice bounds), made once per value. */
  i64(values: number[]): Sym {
    const k = values.join(',');
    let s = this.ints.get(k);
    if (!s) {
      const name = this.fresh('i');
      this.constants.push({ name, dtype: 'int64', dims: [values.length], data: bytesOf(BigInt64Array.from(values, (v) => BigInt(v))) });
      s = { name, shape: [values.length], dtype: 'int32' };
      this.ints.set(k, s);
    }
    return s;
  }

  private scalar(v: number): Sym {
    const name = this.fresh('c');
    this.constants.push({ name, dtype: 'float32', dims: [], data: bytesOf(Float32Array.of(v)) });
    return { name, shape: [], dtype: 'float32' };
  }

  private operand(b: Sym | number): Sym {
    return typeof b === 'number' ? this.scalar(b) : b;
  }

  /** A frozen model tensor, held by the session as an initializer. */
  frozenTensor(src: FrozenSource): Sym {
    let f = this.frozenSources.get(src.id);
    if (!f) {
      f = { name: this.fresh('w'), src };
      this.frozenSources.set(src.id, f);
    }
    return { name: f.name, shape: src.shape, dtype: 'float32' };
  }

  /** Marks `sym` as a graph output named `name`. */
  output(name: string, sym: Sym): void {
    const id = this.op('Identity', [sym], sym.shape, sym.dtype);
    this.nodes[this.nodes.length - 1].outputs = [name];
    this.outputs.push({ name, sym: { ...id, name } });
  }

  shape(x: Sym): number[] {
    return x.shape;
  }
  tidy<R>(f: () => R): R {
    return f();
  }
  dispose(): void {}
  keep(x: Sym): Sym {
    return x;
  }

  private hostedSyms = new Map<number, Sym>();
  frozen(t: tf.Tensor): Sym {
    const d: unknown = t;
    if (isDiskTensor(d)) return this.frozenTensor({ id: d.id, shape: d.shape, read: () => d.dataSync(), file: d.location() });
    return this.frozenTensor({ id: `tf:${t.id}`, shape: t.shape, read: () => t.dataSync() as Float32Array });
  }
  hosted(t: tf.Tensor): Sym {
    let s = this.hostedSyms.get(t.id);
    if (!s) {
      s = this.feed(t.dataSync() as Float32Array | Int32Array, t.shape, t.dtype === 'int32' ? 'int32' : 'float32');
      this.hostedSyms.set(t.id, s);
    }
    return s;
  }
  /** hosted(t), its axes named by `vary` (lengths that change between calls: the KV cache's past). Call before tracing. */
  hostedVarying(t: tf.Tensor, vary: Array<string | null>): Sym {
    const s = this.feed(t.dataSync() as Float32Array, t.shape, 'float32', vary);
    this.hostedSyms.set(t.id, s);
    return s;
  }
  sigmoid(x: Sym): Sym {
    return this.unary('Sigmoid', x);
  }
  bmm(a: Sym, b: Sym): Sym {
    return this.matMul(a, b);
  }
  /** x · Wᵀ as Gemm with transB: no transposed copy of the weight (ORT would fold a Transpose of an initializer into one). */
  linear(x: Sym, W: Sym): Sym {
    if (x.shape.length !== 2) return this.matMul(x, this.transpose(W));
    return this.op('Gemm', [x, W], [x.shape[0], W.shape[0]], 'float32', [{ name: 'transB', i: 1 }]);
  }
  linearBackward(dy: Sym, W: Sym): Sym {
    return this.matMul(dy, W);
  }
  dropoutKeep(seeds: number[], T: number, inF: number, p: number): Sym {
    const keep = dropoutKeep(seeds, T, inF, p);
    try {
      return this.feed(keep.dataSync() as Float32Array, keep.shape, 'float32');
    } finally {
      keep.dispose();
    }
  }

  feed(data: Float32Array | Int32Array, shape: number[], dtype: OpDtype, vary: Array<string | null> = []): Sym {
    const name = this.fresh('in');
    this.inputs.push({ name, dtype, dims: shape.map((d, i) => vary[i] ?? d) });
    this.feeds.set(name, { data, shape, dtype });
    return { name, shape, dtype };
  }
  feedScalar(v: number): Sym {
    return this.feed(Float32Array.of(v), [], 'float32');
  }
  constant(data: Float32Array | Int32Array, shape: number[], dtype: OpDtype): Sym {
    const name = this.fresh('k');
    this.constants.push({ name, dtype, dims: shape, data: bytesOf(data) });
    return { name, shape, dtype };
  }

  private ofShape(shape: Sym, dims: number[], value: number): Sym {
    const t: OnnxTensor = { name: '', dtype: 'float32', dims: [1], data: bytesOf(Float32Array.of(value)) };
    return this.op('ConstantOfShape', [shape], dims, 'float32', [{ name: 'value', t }]);
  }
  /** [rows of like, cols]: Shape(like)[0:1] joined with cols, so the rows follow a varying input. */
  private rowsShape(like: Sym, cols: number): Sym {
    const s = this.op('Shape', [like], [like.shape.length], 'int32', [{ name: 'start', i: 0 }, { name: 'end', i: 1 }]);
    return this.op('Concat', [s, this.i64([cols])], [2], 'int32', [{ name: 'axis', i: 0 }]);
  }
  fillRows(like: Sym, cols: number, value: number): Sym {
    return this.ofShape(this.rowsShape(like, cols), [like.shape[0], cols], value);
  }
  zerosRows(like: Sym, cols: number): Sym {
    return this.fillRows(like, cols, 0);
  }
  zerosLike(x: Sym): Sym {
    return this.ofShape(this.op('Shape', [x], [x.shape.length], 'int32'), x.shape, 0);
  }
  zeros(shape: number[]): Sym {
    return this.ofShape(this.i64(shape), shape, 0);
  }

  private binary(op: string, a: Sym, b: Sym | number): Sym {
    const y = this.operand(b);
    return this.op(op, [a, y], broadcast(a.shape, y.shape), a.dtype);
  }
  add(a: Sym, b: Sym | number): Sym {
    return this.binary('Add', a, b);
  }
  sub(a: Sym | number, b: Sym | number): Sym {
    if (typeof a === 'number') {
      const x = this.scalar(a);
      const y = this.operand(b);
      return this.op('Sub', [x, y], y.shape, y.dtype);
    }
    return this.binary('Sub', a, b);
  }
  mul(a: Sym, b: Sym | number): Sym {
    return this.binary('Mul', a, b);
  }
  maximum(a: Sym, b: Sym): Sym {
    return this.binary('Max', a, b);
  }
  private unary(op: string, x: Sym): Sym {
    return this.op(op, [x], x.shape, x.dtype);
  }
  exp(x: Sym): Sym {
    return this.unary('Exp', x);
  }
  log(x: Sym): Sym {
    return this.unary('Log', x);
  }
  rsqrt(x: Sym): Sym {
    return this.unary('Reciprocal', this.unary('Sqrt', x));
  }
  square(x: Sym): Sym {
    return this.op('Mul', [x, x], x.shape, x.dtype);
  }
  softmax(x: Sym): Sym {
    return this.op('Softmax', [x], x.shape, x.dtype, [{ name: 'axis', i: -1 }]);
  }
  clone(x: Sym): Sym {
    return x; // a copy only matters to TF.js's packing of right operands (ops.ts)
  }

  matMul(a: Sym, b: Sym): Sym {
    const [m, k] = a.shape.slice(-2);
    const [k2, n] = b.shape.slice(-2);
    // internal: as above: the step builds the graph from checked shapes.
    if (k !== k2) throw new Error(`matMul: [${a.shape}] · [${b.shape}]`);
    const lead = broadcast(a.shape.slice(0, -2), b.shape.slice(0, -2));
    return this.op('MatMul', [a, b], [...lead, m, n], 'float32');
  }
  transpose(x: Sym, perm?: number[]): Sym {
    const p = perm ?? x.shape.map((_, i) => x.shape.length - 1 - i);
    return this.op('Transpose', [x], p.map((i) => x.shape[i]), x.dtype, [{ name: 'perm', ints: p }]);
  }
  reshape(x: Sym, shape: number[]): Sym {
    const size = x.shape.reduce((a, b) => a * b, 1);
    const known = shape.reduce((a, b) => (b === -1 ? a : a * b), 1);
    const out = shape.map((d) => (d === -1 ? size / known : d));
    return this.op('Reshape', [x, this.i64(shape)], out, x.dtype);
  }
  slice(x: Sym, begin: number[], size: number[]): Sym {
    const sz = size.map((s, i) => (s === -1 ? x.shape[i] - begin[i] : s));
    const axes = begin.map((_, i) => i);
    return this.op('Slice', [x, this.i64(begin), this.i64(begin.map((b, i) => b + sz[i])), this.i64(axes)], sz, x.dtype);
  }
  concat(xs: Sym[], axis = 0): Sym {
    const a = axis < 0 ? xs[0].shape.length + axis : axis;
    const shape = xs[0].shape.slice();
    shape[a] = xs.reduce((n, x) => n + x.shape[a], 0);
    return this.op('Concat', xs, shape, xs[0].dtype, [{ name: 'axis', i: a }]);
  }
  gather(x: Sym, indices: Sym, axis = 0): Sym {
    const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    return this.op('Gather', [x, indices], shape, x.dtype, [{ name: 'axis', i: axis }]);
  }

  oneHot(indices: Int32Array, depth: number, vary: Array<string | null> = []): Sym {
    // ONNX counts negative indices from the end; one past the last column gives the all-zero row instead.
    const at = this.feed(Int32Array.from(indices, (i) => (i < 0 ? depth : i)), [indices.length], 'int32', vary);
    const values = this.constant(Float32Array.of(0, 1), [2], 'float32');
    // ORT's CPU kernel for int32 indices and float values wants an int32 (or float) depth.
    const d = this.constant(Int32Array.of(depth), [1], 'int32');
    return this.op('OneHot', [at, d, values], [indices.length, depth], 'float32', [{ name: 'axis', i: -1 }]);
  }

  private reduced(x: Sym, axis: number | undefined, keepDims: boolean): number[] {
    if (axis === undefined) return keepDims ? x.shape.map(() => 1) : [];
    const a = axis < 0 ? x.shape.length + axis : axis;
    return keepDims ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  }
  sum(x: Sym, axis?: number, keepDims = false): Sym {
    const inputs = axis === undefined ? [x] : [x, this.i64([axis])];
    return this.op('ReduceSum', inputs, this.reduced(x, axis, keepDims), x.dtype, [{ name: 'keepdims', i: keepDims ? 1 : 0 }]);
  }
  max(x: Sym, axis: number, keepDims = false): Sym {
    return this.op('ReduceMax', [x], this.reduced(x, axis, keepDims), x.dtype, [{ name: 'axes', ints: [axis] }, { name: 'keepdims', i: keepDims ? 1 : 0 }]);
  }
  mean(x: Sym, axis: number, keepDims = false): Sym {
    return this.op('ReduceMean', [x], this.reduced(x, axis, keepDims), x.dtype, [{ name: 'axes', ints: [axis] }, { name: 'keepdims', i: keepDims ? 1 : 0 }]);
  }

  argMax(x: Sym, axis: number): Sym {
    // ArgMax gives int64 (first maximum: select_last_index 0); cast to int32 so it reads back as an Int32Array.
    const a = this.op('ArgMax', [x], this.reduced(x, axis, false), 'int32', [{ name: 'axis', i: axis }, { name: 'keepdims', i: 0 }]);
    return this.op('Cast', [a], a.shape, 'int32', [{ name: 'to', i: 6 }]);
  }

  /** What identifies this graph's structure: equal keys, one session. */
  key(): string {
    const h = createHash('sha256');
    h.update(JSON.stringify({ nodes: this.nodes, inputs: this.inputs, outputs: this.outputs.map((o) => o.name) }, (k, v) => (k === 't' ? { dims: v.dims, data: Array.from(v.data as Uint8Array) } : v)));
    for (const c of this.constants) h.update(`${c.name}:${c.dtype}:${c.dims}`).update(c.data);
    for (const [id, f] of this.frozenSources) h.update(`${f.name}=${id}:${f.src.shape}`);
    return h.digest('hex');
  }

  /** The graph (call once per key); its frozen tensors are read as they are written, one at a time. */
  toGraph(): OnnxGraph {
    const frozen: OnnxTensor[] = [...this.frozenSources.values()].map((f) => ({ name: f.name, dtype: 'float32' as OnnxDtype, dims: f.src.shape, weight: true, data: () => bytesOf(f.src.read()), ...(f.src.file ? { file: f.src.file } : {}) }));
    return {
      name: 'tokenpipe',
      opset: 17,
      // Operator sets beyond the default one that the nodes use (com.microsoft: the fused ops).
      extraOpsets: [...new Set(this.nodes.flatMap((n) => (n.domain ? [n.domain] : [])))].map((domain) => ({ domain, version: 1 })),
      nodes: this.nodes,
      initializers: [...this.constants, ...frozen],
      inputs: this.inputs,
      // Output dims are left open, each its own name: rows may vary between calls.
      outputs: this.outputs.map((o) => ({ name: o.name, dtype: o.sym.dtype, dims: o.sym.shape.map((_, i) => `${o.name}_${i}`) })),
    };
  }
}
