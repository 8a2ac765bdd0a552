// The output head and the cross-entropy over the vocabulary, in column chunks (architecture.md §3): [N, V]
// logits, probabilities or their gradient never exist at once. At V=152k and N=4096 one such tensor is 2.5 GB,
// more than half the wasm heap; a chunk of 4096 columns is 64 MiB at N=4096.
//
// The vocabulary the head scores is the frozen base rows (head [V0, D] as HF stores lm_head.weight, minus `masked`
// ones that a trainable row replaces) plus `extra` rows [n, D] for the ids `extraIds` (appended new tokens, retrained
// existing ones). Only scored positions (target ≠ −100) go through the head: they alone have a loss and a gradient.
// Per chunk the rows Wc [w, D] are a fresh slice: the logits and the gradient p·Wc are plain products whose right
// operand is a temporary (src/model/ops.ts explains both rules). Chunks are folded with an online softmax (the
// running log-sum-exp, and in training the softmax-weighted rows). This file holds the shared pieces, the scores
// evaluation needs (loss and top-1 per scored row) and a few rows' full logits for generation; head-loss.ts the
// training pass. The pieces both passes share are written once against the op vocabulary (tensor-ops.ts): TF.js
// runs them eagerly, the native engine as nodes of one ONNX graph.
import * as tf from '@tensorflow/tfjs';
import { ModelInputInvalid } from '../errors.ts';
import { tidy } from './scope.ts';
import { tfOps, type Ops } from './tensor-ops.ts';

export const IGNORE_INDEX = -100;

/** Far below any logit, finite so that m − m' and exp stay NaN-free: masked columns get exactly 0 weight. */
export const NEG = -1e30;

/**
 * Vocabulary rows per chunk: a chunk holds its logits and probabilities [rows, c] and its head rows (and their
 * transpose) [c, D], ~32 MiB in all, and stays between 1024 and 8192 rows (products of that width run fastest on
 * wasm, measured 1.7-1.9x a single [N, V] one).
 */
export function headChunk(rows: number, V: number, D: number, budgetFloats = 8 * 2 ** 20): number {
  const c = Math.floor(budgetFloats / (2 * Math.max(1, rows) + 2 * D));
  return Math.max(1, Math.min(V, Math.max(1024, Math.min(8192, c))));
}

/** What a token table contributes to the head. All tensors are owned by the table. */
export interface HeadColumnsOf<T> {
  /** Frozen base head [V0, D] (lm_head.weight; the embedding when tied). */
  head: T;
  /** Base ids whose column is replaced by an extra row (scored as −∞ in the base pass). */
  masked: number[];
  /** Extra rows [n, D] (trainable or constant), or null. */
  extra: T | null;
  /** Vocabulary id of each extra row. */
  extraIds: number[];
}

export type HeadColumns = HeadColumnsOf<tf.Tensor2D>;

/** Scored rows of a [N] target array and where each target's logit lives. */
export interface Targets {
  /** Row index (into h) of each scored position, [M]. */
  rows: Int32Array;
  /** Target id per scored position, [M]. */
  ids: Int32Array;
  /** Position in `extraIds` of each target, or −1 when it is a base column. */
  extraPos: Int32Array;
}

export function scoredTargets(targets: Int32Array, cols: { extraIds: number[] }, V: number): Targets {
  const extraAt = new Map(cols.extraIds.map((id, k) => [id, k]));
  const rows: number[] = [];
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i];
    if (t === IGNORE_INDEX) continue;
    if (!(Number.isInteger(t) && t >= 0 && t < V)) throw new ModelInputInvalid(`targets[${i}] = ${t} is outside [0, ${V}) and is not ${IGNORE_INDEX}`);
    rows.push(i);
  }
  const ids = Int32Array.from(rows, (r) => targets[r]);
  return { rows: Int32Array.from(rows), ids, extraPos: Int32Array.from(ids, (t) => extraAt.get(t) ?? -1) };
}

/** The number of scored rows varies between batches: the graph names that axis. */
const M_AXIS = ['M'];

/** [M, D] rows of the effective head W' for each target (base column, or its extra row). */
export function targetRows<T>(o: Ops<T>, cols: HeadColumnsOf<T>, t: Targets): T {
  const [V0] = o.shape(cols.head);
  const M = t.ids.length;
  const baseIds = Int32Array.from(t.ids, (id, i) => (t.extraPos[i] >= 0 ? 0 : Math.min(id, V0 - 1)));
  const base = o.gather(cols.head, o.feed(baseIds, [M], 'int32', M_AXIS), 0); // [M, D]
  // A graph keeps the general form when no target is an extra row (keep all ones, pick all zeros): one session.
  if (cols.extra === null || (o.dataBranches && !t.extraPos.some((p) => p >= 0))) return base;
  const n = cols.extraIds.length;
  const pick = new Float32Array(M * n); // [M, n] one-hot of the extra targets
  const keep = new Float32Array(M).fill(1);
  t.extraPos.forEach((p, i) => {
    if (p >= 0) (pick[i * n + p] = 1), (keep[i] = 0);
  });
  return o.add(o.mul(base, o.feed(keep, [M, 1], 'float32', M_AXIS)), o.matMul(o.feed(pick, [M, n], 'float32', M_AXIS), cols.extra));
}

/** Additive [1, width] mask of the chunk [c0, c0 + width): NEG at masked ids, or null when none falls inside. */
function chunkMask<T>(o: Ops<T>, masked: number[], c0: number, width: number): T | null {
  const inside = masked.filter((id) => id >= c0 && id < c0 + width);
  if (inside.length === 0) return null;
  const m = new Float32Array(width);
  for (const id of inside) m[id - c0] = NEG;
  return o.constant(m, [1, width], 'float32');
}

/**
 * Running state of M rows over the chunks seen so far: L, the log-sum-exp of their logits, and (training) acc, the
 * softmax-weighted sum of their rows Σ_j softmax(z)_j·W_j, normalised to L.
 */
export interface Online<T = tf.Tensor2D> {
  L: T; // [M, 1]
  acc: T | null; // [M, D]
}

/**
 * One chunk's logits z [M, w] → its in-chunk softmax p and log-sum-exp. tf.softmax is XNNPACK's vectorised kernel
 * on wasm (measured 2.2x faster than max, sub, exp, sum); the chunk's log-sum-exp is max(z) − log(max(p)), since
 * p's largest entry is exp(max(z) − lse). With `free`, z is disposed as soon as p exists (one [M, w] less).
 */
export function chunkSoftmax<T>(o: Ops<T>, z: T, free = false): { p: T; lse: T } {
  return o.tidy(() => {
    const max = o.max(z, 1, true); // [M, 1]
    const p = o.softmax(z); // [M, w]
    if (free) o.dispose(z);
    return { p, lse: o.sub(max, o.log(o.max(p, 1, true))) };
  });
}

/** Folds a chunk (its log-sum-exp and, training, p·Wc [M, D]) into `s`: L' = log(e^L + e^lse), acc rescaled to L'. */
export function fold<T>(o: Ops<T>, s: Online<T>, lse: T, pW: T | null): Online<T> {
  return o.tidy(() => {
    const hi = o.maximum(s.L, lse);
    const L = o.add(hi, o.log(o.add(o.exp(o.sub(s.L, hi)), o.exp(o.sub(lse, hi))))); // [M, 1]
    if (pW === null || s.acc === null) return { L, acc: null };
    const acc = o.add(o.mul(s.acc, o.exp(o.sub(s.L, L))), o.mul(pW, o.exp(o.sub(lse, L)))); // [M, D]
    return { L, acc };
  });
}

/**
 * The scored rows as a chunk's products need them: hs [M, D], and (when the hidden size is large next to the row
 * count) hsT [D, M], made once per pass so every chunk computes (Wc·hsᵀ)ᵀ with Wc read in place, unpacked, and
 * hsᵀ packed once (XNNPACK caches it by tensor): the other form, hs·Wcᵀ, transposes and packs a [D, w] chunk per
 * call, which measured 1.3-1.7x slower at D = 576 and 896 (a little faster at D = 256, M = 1024).
 */
export interface Rows<T = tf.Tensor2D> {
  hs: T;
  hsT: T | null;
}

export function scoredRows<T>(o: Ops<T>, h: T, rows: Int32Array): Rows<T> {
  const hs = o.gather(h, o.feed(rows, [rows.length], 'int32', M_AXIS)); // [M, D]
  const [M, D] = o.shape(hs);
  // A graph always takes hs·Wcᵀ (its structure must not depend on M): ORT runs it as one MatMul with transB on the
  // sliced chunk (constant folding is off, so no transposed copy of the head is made), and the chunk's softmax then
  // runs along its last axis. The (Wc·hsᵀ)ᵀ form measured 1.4x slower there (SmolLM2-135M's head: 1.76 s against
  // 1.24 s of CPU per pass at 1 thread; V=128256: 2.5 s against 1.55 s), its softmax and p·Wc on transposed operands.
  return { hs, hsT: o.dataBranches && 2 * D >= M ? o.transpose(hs) : null };
}

/** Logits of base rows [c0, c0 + w) for the scored rows, masked columns at NEG. */
export function baseChunk<T>(o: Ops<T>, r: Rows<T>, cols: HeadColumnsOf<T>, c0: number, w: number): { z: T; Wc: T } {
  const D = o.shape(r.hs)[1];
  return o.tidy(() => {
    const Wc = o.slice(cols.head, [c0, 0], [w, D]); // [w, D]
    let z = r.hsT ? o.transpose(o.matMul(Wc, r.hsT)) : o.matMul(r.hs, o.transpose(Wc)); // [M, w]
    const mask = chunkMask(o, cols.masked, c0, w);
    if (mask) z = o.add(z, mask);
    return { z, Wc };
  });
}

/** [M, D] rows placed at `rows` of an [N, D] zero matrix (a gather from rows + one zero row: no scatter kernel). */
export function scatterRows<T>(o: Ops<T>, x: T, rows: Int32Array, N: number): T {
  const M = rows.length;
  if (M === N && o.dataBranches) return x;
  const where = new Int32Array(N).fill(M);
  rows.forEach((r, k) => (where[r] = k));
  return o.gather(o.concat([x, o.zeros([1, o.shape(x)[1]])]), o.feed(where, [N], 'int32'));
}

export interface HeadScores {
  /** Per scored row: −log p(target), [M]. */
  nll: Float32Array;
  /** Per scored row: the id with the highest logit (first on ties, as torch.argmax), [M]. */
  top1: Int32Array;
  /** Index into the [N] targets of each scored row. */
  rows: Int32Array;
}

/** One chunk's best logit and its column per scored row ([M] each), and the vocabulary id of a column of the chunk. */
export interface ChunkTop<T> {
  max: T;
  arg: T;
  idOf: (col: number) => number;
}

/**
 * Folds one chunk's per-row best (values `v`, columns `a`) into the running top-1. Strictly greater keeps the first
 * maximum across chunks; an extra id below a base tie loses to the base id.
 */
export function foldTop1(best: Float32Array, top1: Int32Array, v: ArrayLike<number>, a: ArrayLike<number>, idOf: (col: number) => number): void {
  for (let i = 0; i < best.length; i++) {
    const id = idOf(a[i]);
    if (v[i] > best[i] || (v[i] === best[i] && id < top1[i])) (best[i] = v[i]), (top1[i] = id);
  }
}

/**
 * The scores written once (TF.js runs them eagerly, the native engine as one graph): per scored row −log p(target)
 * [M], returned, and each chunk's best logit and its column, handed to `consider` chunk by chunk (TF.js reads them
 * at once, a graph marks them as outputs). `t` has at least one scored row.
 */
export function headScoresOps<T>(o: Ops<T>, h: T, t: Targets, cols: HeadColumnsOf<T>, width: number, consider: (c: ChunkTop<T>) => void): T {
  const V0 = o.shape(cols.head)[0];
  return o.tidy(() => {
    const r = scoredRows(o, h, t.rows);
    const hs = r.hs; // [M, D]
    let L = o.fillRows(hs, 1, NEG); // [M, 1]
    const add = (logits: () => T, idOf: (col: number) => number) => {
      const next = o.tidy(() => {
        const z = logits(); // [M, w]
        consider({ max: o.max(z, 1), arg: o.argMax(z, 1), idOf });
        return fold(o, { L, acc: null }, chunkSoftmax(o, z, true).lse, null).L;
      });
      o.dispose(L);
      L = next;
    };
    for (let c0 = 0; c0 < V0; c0 += width) add(() => baseChunk(o, r, cols, c0, Math.min(width, V0 - c0)).z, (c) => c0 + c);
    if (cols.extra !== null) add(() => o.matMul(hs, o.transpose(cols.extra!)), (c) => cols.extraIds[c]);
    return o.sub(o.reshape(L, [-1]), o.sum(o.mul(hs, targetRows(o, cols, t)), 1)); // [M]
  });
}

/** Forward only: per scored row the loss and the top-1 id, chunk by chunk (what eval and the metrics need). */
export function headScores(h: tf.Tensor2D, targets: Int32Array, cols: HeadColumns, chunk?: number): HeadScores {
  const D = h.shape[1];
  const V0 = cols.head.shape[0];
  const V = V0 + cols.extraIds.filter((id) => id >= V0).length;
  const t = scoredTargets(targets, cols, V);
  const M = t.rows.length;
  if (M === 0) return { nll: new Float32Array(0), top1: new Int32Array(0), rows: t.rows };
  const width = chunk ?? headChunk(M, V0, D);
  const best = new Float32Array(M).fill(-Infinity);
  const top1 = new Int32Array(M);
  const nll = headScoresOps(tfOps, h, t, cols, width, (c) => {
    const v = c.max.dataSync(), a = c.arg.dataSync();
    tf.dispose([c.max, c.arg]);
    foldTop1(best, top1, v, a, c.idOf);
  });
  const out = nll.dataSync() as Float32Array;
  nll.dispose();
  return { nll: out, top1, rows: t.rows };
}

/**
 * Logits [n, V] in vocabulary order for a few rows (generation reads one row per step): base columns with the
 * masked ones replaced by their extra rows, then the appended ids. Training and evaluation never build [N, V].
 */
export function headLogits(h: tf.Tensor2D, cols: HeadColumns, V: number): tf.Tensor2D {
  return tidy(() => headLogitsOps(tfOps, h, cols, V)) as tf.Tensor2D;
}

/** headLogits written once: TF.js runs it eagerly, the native engine's generate graph as nodes. */
export function headLogitsOps<T>(o: Ops<T>, h: T, cols: HeadColumnsOf<T>, V: number): T {
  let z = o.linear(h, cols.head); // [n, V0]
  if (cols.extra === null) return z;
  const [n] = o.shape(h);
  const V0 = o.shape(cols.head)[0];
  const zx = o.matMul(h, o.transpose(cols.extra)); // [n, k]
  const inside = cols.extraIds.map((id, k) => [id, k] as const).filter(([id]) => id < V0);
  if (inside.length > 0) {
    // Replaced columns: z·keep + zx·place, place [k, V0] one-hot (a dense op, no scatter kernel).
    const keep = new Float32Array(V0).fill(1);
    const place = new Float32Array(cols.extraIds.length * V0);
    for (const [id, k] of inside) (keep[id] = 0), (place[k * V0 + id] = 1);
    z = o.add(o.mul(z, o.constant(keep, [1, V0], 'float32')), o.matMul(zx, o.constant(place, [cols.extraIds.length, V0], 'float32')));
  }
  const appended = cols.extraIds.map((id, k) => [id, k] as const).filter(([id]) => id >= V0).sort((a, b) => a[0] - b[0]);
  if (appended.length === 0) return z;
  // internal: the token table appends ids V0.. in order; a caller bug otherwise.
  if (appended.some(([id], j) => id !== V0 + j) || V !== V0 + appended.length) throw new Error(`appended ids must run ${V0}, ${V0 + 1}, ... up to ${V - 1}`);
  const cols2 = o.gather(zx, o.constant(Int32Array.from(appended, ([, k]) => k), [appended.length], 'int32'), 1); // [n, appended]
  return o.reshape(o.concat([z, cols2], 1), [n, V]);
}
