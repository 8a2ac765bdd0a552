// The fused steps of the op vocabulary (tensor-ops.ts FusedOps) as ONNX Runtime nodes: RoPE as com.microsoft
// RotaryEmbedding and the RMSNorm forward as SimplifiedLayerNormalization (ORT's own ops, in its CPU build). Each
// replaces 6-7 elementwise nodes that ORT does not fuse by itself (slices, a concat, products and sums over
// [N, heads, D]; squares, a mean, a root, products over [N, H]), most of them one pass over memory each and the
// slices and concat on one thread. docs/native-engine.md "Graph speed" has what they bought.
import type { RopeTables } from './rope.ts';
import type { FusedOps } from './tensor-ops.ts';
import type { GraphOps, Sym } from './onnx-ops.ts';

const MS = 'com.microsoft';

export function graphFused(g: GraphOps): FusedOps<Sym> {
  /** RotaryEmbedding's caches [N, D/2], by table, scale and direction: made once per graph. */
  const caches = new Map<string, { cos: Sym; sin: Sym }>();
  const cachesFor = (t: RopeTables, scale: number, inverse: boolean): { cos: Sym; sin: Sym } => {
    const key = `${t.cos.id}:${t.sinSigned.id}:${scale}:${inverse}`;
    let c = caches.get(key);
    if (!c) {
      const [N, , D] = t.cos.shape; // [N, 1, D]
      const half = (x: Sym, from: number) => g.reshape(g.slice(x, [0, 0, from], [N, 1, D / 2]), [N, D / 2]); // [N, D/2]
      const scaled = (x: Sym, s: number) => (s === 1 ? x : g.mul(x, s));
      // The tables hold cos twice and sin as [-sin, +sin] (rope.ts); the transpose turns by −angle.
      c = { cos: scaled(half(g.hosted(t.cos), 0), scale), sin: scaled(half(g.hosted(t.sinSigned), D / 2), inverse ? -scale : scale) };
      caches.set(key, c);
    }
    return c;
  };
  return {
    rope(x, t, scale, inverse) {
      const [N, heads, D] = x.shape;
      const { cos, sin } = cachesFor(t, scale, inverse);
      // Token n takes row n of the caches: one batch of N positions 0..N-1 (position_ids as the one offset 0).
      const y = g.op('RotaryEmbedding', [g.reshape(x, [1, N, heads * D]), g.i64([0]), cos, sin], [1, N, heads * D], 'float32', [
        { name: 'num_heads', i: heads },
        { name: 'interleaved', i: 0 },
      ], MS); // [1, N, heads·D]
      return g.reshape(y, [N, heads, D]);
    },
    rmsNorm(x, w, eps) {
      const rShape = [...x.shape.slice(0, -1), 1];
      const [y, r] = g.opOutputs('SimplifiedLayerNormalization', [x, w], [[x.shape, 'float32'], [rShape, 'float32']], [
        { name: 'axis', i: -1 },
        { name: 'epsilon', f: eps },
      ]);
      return { y, r };
    },
    swigluBackward(dm, gate, up) {
      // silu'(x) = σ + σ·x·(1 − σ) = σ + σ·(x − s) with s = x·σ; σ(gate) and s are the forward's own nodes (ORT
      // merges equal ones), so this is six passes over [N, I] where layer.ts's order takes seven.
      const sg = g.sigmoid(gate);
      const s = g.mul(gate, sg);
      const slope = g.add(sg, g.mul(sg, g.sub(gate, s)));
      return { du: g.mul(dm, s), dg: g.mul(g.mul(dm, up), slope) };
    },
  };
}
