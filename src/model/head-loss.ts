// The training side of the chunked head (head.ts): the loss of the scored rows and its gradients w.r.t. the hidden
// states and the extra rows in ONE pass (online softmax: per chunk one forward product and one backward product, the
// same two PyTorch does, nothing recomputed), and for a trainable head ('full' mode) a two-pass variant that also
// gives the head's own gradient. The one-pass loss is written once against the op vocabulary (headLossOps): TF.js
// runs it eagerly (headLossAndGrad), the native engine as an ONNX graph.
import * as tf from '@tensorflow/tfjs';
import { baseChunk, chunkSoftmax, fold, headChunk, NEG, scatterRows, scoredRows, scoredTargets, targetRows, type HeadColumns, type HeadColumnsOf, type Online, type Targets } from './head.ts';
import { tidy } from './scope.ts';
import { tfOps, type Ops } from './tensor-ops.ts';

export interface HeadLossResult {
  /** Σ over scored rows of weight · (lse − target logit), in nats. */
  loss: number;
  /** Scored rows. */
  count: number;
  /** dLoss/dh, [N, D] (zero rows where nothing is scored). */
  dh: tf.Tensor2D;
  /** dLoss/dextra, [n, D], or null without extra rows. */
  dExtra: tf.Tensor2D | null;
}

/**
 * Loss of the final-normed hidden states h [N, D] against `targets` [N] (already shifted; −100 ignored), each scored
 * row weighted by `weight` (1/count for a mean, 1 for a sum), and its gradients w.r.t. h and the extra rows.
 * The caller owns the returned tensors.
 */
export function headLossAndGrad(h: tf.Tensor2D, targets: Int32Array, cols: HeadColumns, weight: number, chunk?: number): HeadLossResult {
  const [N, D] = h.shape;
  const V0 = cols.head.shape[0];
  const V = V0 + cols.extraIds.filter((id) => id >= V0).length;
  const t = scoredTargets(targets, cols, V);
  const M = t.rows.length;
  if (M === 0) {
    return { loss: 0, count: 0, dh: tf.zeros([N, D]), dExtra: cols.extra ? tf.zerosLike(cols.extra) : null };
  }
  const width = chunk ?? headChunk(M, V0, D);
  return tidy(() => {
    const r = headLossOps(tfOps, h, t, cols, tfOps.feedScalar(weight), width);
    return { loss: r.loss.dataSync()[0], count: M, dh: r.dh as tf.Tensor2D, dExtra: r.dExtra as tf.Tensor2D | null };
  });
}

/**
 * The one-pass loss and gradients of the scored rows `t` (at least one), in any engine: the loss as a scalar,
 * dh [N, D] and dExtra [n, D] (null without extra rows). `weight` is a scalar; `width` the column chunk.
 */
export function headLossOps<T>(o: Ops<T>, h: T, t: Targets, cols: HeadColumnsOf<T>, weight: T, width: number): { loss: T; dh: T; dExtra: T | null } {
  const [N, D] = o.shape(h);
  const V0 = o.shape(cols.head)[0];
  const r = scoredRows(o, h, t.rows);
  const hs = r.hs; // [M, D]
  let s: Online<T> = { L: o.fillRows(hs, 1, NEG), acc: o.zerosRows(hs, D) };
  const step = (next: Online<T>) => {
    o.dispose([s.L, s.acc!]);
    s = next;
  };
  for (let c0 = 0; c0 < V0; c0 += width) {
    const w = Math.min(width, V0 - c0);
    step(o.tidy(() => {
      const { z, Wc } = baseChunk(o, r, cols, c0, w);
      const { p, lse } = chunkSoftmax(o, z, true);
      return fold(o, s, lse, o.matMul(p, Wc)); // [M, w]·[w, D]: Wc is a fresh slice
    }));
  }
  let dExtra: T | null = null;
  if (cols.extra !== null) {
    // The extra rows come last: with L final, their softmax over the whole vocabulary is exact at once.
    const { p, lse } = chunkSoftmax(o, o.matMul(hs, o.transpose(cols.extra))); // [M, n]
    step(fold(o, s, lse, o.matMul(p, o.clone(cols.extra)))); // a copy: the rows are a right operand (ops.ts rule 2)
    const n = cols.extraIds.length;
    const M = t.rows.length;
    const hot = new Float32Array(M * n);
    t.extraPos.forEach((q, i) => q >= 0 && (hot[i * n + q] = 1));
    const dz = o.sub(o.mul(p, o.exp(o.sub(lse, s.L))), o.feed(hot, [M, n], 'float32', ['M'])); // softmax − onehot on these columns, [M, n]
    dExtra = o.mul(o.matMul(o.transpose(dz), hs), weight); // [n, M]·[M, D] → [n, D]
  }
  const Wtgt = targetRows(o, cols, t); // [M, D]
  const zt = o.sum(o.mul(hs, Wtgt), 1); // [M] target logits
  const loss = o.mul(o.sum(o.sub(o.reshape(s.L, [-1]), zt)), weight);
  // dh = weight · (softmax · W − W_target) on scored rows; acc is the softmax-weighted sum of rows.
  const dh = scatterRows(o, o.mul(o.sub(s.acc!, Wtgt), weight), t.rows, N); // [N, D]
  return { loss, dh, dExtra };
}

/**
 * 'full' mode: the whole head [V, D] is trainable. Its gradient needs softmax − onehot of every chunk, so the
 * normaliser comes first (pass 1) and each chunk's logits are made again in pass 2. Returns dh and dHead [V, D].
 */
export function headLossAndGradFull(h: tf.Tensor2D, targets: Int32Array, head: tf.Tensor2D, weight: number, chunk?: number): HeadLossResult & { dHead: tf.Tensor2D } {
  const [N, D] = h.shape;
  const V = head.shape[0];
  const cols: HeadColumns = { head, masked: [], extra: null, extraIds: [] };
  const t = scoredTargets(targets, cols, V);
  const M = t.rows.length;
  if (M === 0) return { loss: 0, count: 0, dh: tf.zeros([N, D]), dExtra: null, dHead: tf.zerosLike(head) };
  const width = chunk ?? headChunk(M, V, D);
  return tidy(() => {
    const r = headLossFullOps(tfOps, h, t, head, tfOps.feedScalar(weight), width);
    return { loss: r.loss.dataSync()[0], count: M, dh: r.dh as tf.Tensor2D, dExtra: null, dHead: r.dHead as tf.Tensor2D };
  });
}

/** The two-pass loss and gradients of a trainable head [V, D] for the scored rows `t` (at least one), in any engine. */
export function headLossFullOps<T>(o: Ops<T>, h: T, t: Targets, head: T, weight: T, width: number): { loss: T; dh: T; dHead: T } {
  const [N, D] = o.shape(h);
  const V = o.shape(head)[0];
  const M = t.rows.length;
  const cols: HeadColumnsOf<T> = { head, masked: [], extra: null, extraIds: [] };
  const r = scoredRows(o, h, t.rows);
  const hs = r.hs; // [M, D]
  const hsT = r.hsT ?? o.transpose(hs); // [D, M]: dWcᵀ = hsᵀ·dz is a plain product, transposed back at [w, D]
  let L = o.fillRows(hs, 1, NEG);
  for (let c0 = 0; c0 < V; c0 += width) {
    const next = o.tidy(() => fold(o, { L, acc: null }, chunkSoftmax(o, baseChunk(o, r, cols, c0, Math.min(width, V - c0)).z, true).lse, null).L);
    o.dispose(L);
    L = next;
  }
  let dhs = o.zerosRows(hs, D);
  const dW: T[] = [];
  for (let c0 = 0; c0 < V; c0 += width) {
    const w = Math.min(width, V - c0);
    const [dhNext, dWc] = o.tidy(() => {
      const { z, Wc } = baseChunk(o, r, cols, c0, w);
      const { p, lse } = chunkSoftmax(o, z, true);
      const scaled = o.mul(p, o.mul(o.exp(o.sub(lse, L)), weight)); // weight · softmax over the whole vocabulary, [M, w]
      o.dispose(p);
      const local = Int32Array.from(t.ids, (id) => (id >= c0 && id < c0 + w ? id - c0 : -1));
      const hot = o.tidy(() => {
        const h2 = o.oneHot(local, Math.max(2, w), M_ROWS); // tf.oneHot refuses depth 1
        return o.mul(w >= 2 ? h2 : o.slice(h2, [0, 0], [M, w]), weight);
      });
      const dz = o.sub(scaled, hot); // weight · (softmax − onehot), [M, w]
      o.dispose([scaled, hot]);
      return [o.add(dhs, o.matMul(dz, Wc)), o.transpose(o.matMul(hsT, dz))]; // [M, D], [D, w] → [w, D]
    });
    o.dispose(dhs);
    dhs = dhNext;
    dW.push(dWc);
  }
  const zt = o.sum(o.mul(hs, targetRows(o, cols, t)), 1); // [M]
  const loss = o.mul(o.sum(o.sub(o.reshape(L, [-1]), zt)), weight);
  return { loss, dh: scatterRows(o, dhs, t.rows, N), dHead: o.concat(dW, 0) };
}

/** The scored rows' axis of a feed: it varies between batches. */
const M_ROWS = ['M'];
