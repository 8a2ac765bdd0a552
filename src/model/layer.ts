// One decoder layer, forward and backward by hand (llama-family-spec.md §3): x + attn(norm x), then + mlp(norm x).
//
// Why by hand and not TF.js autodiff: every product of the backward pass is written as a plain matMul after an
// explicit transpose (on wasm a transposed-operand matMul runs 10-20x slower, and autodiff emits exactly those),
// only what the backward needs is kept (`LayerSaved`), frozen weights get no gradient work at all, and
// recomputation is just running the forward again from the layer's input. The same forward serves inference
// (no record, optional KV cache) and training (a record for the backward). Written once against the op vocabulary
// (tensor-ops.ts: `o` is TF.js or the ONNX graph builder); decoderLayer / decoderLayerBackward / addGrad are the
// TF.js entry points.
import * as tf from '@tensorflow/tfjs';
import { attentionBackwardOps, attentionForwardOps, type AttentionSaved } from './attention.ts';
import { linear, linearBackward, type GradSink, type LayerContext, type LoraSaved } from './linear.ts';
import { rmsNormBackwardOps, rmsNormOps, type NormSaved } from './norm.ts';
import { tfOps, type Ops } from './tensor-ops.ts';
import type { Linear, LlamaModel } from './weights.ts';

// The linear pieces live in linear.ts (attention.ts uses them too); re-exported for the callers of this module.
export { addGrad, addGradOps, linear, linearBackward, loraForward, loraForwardOps, loraGradName } from './linear.ts';
export type { DropoutRows, KVAppend, GradSink, LayerContext, LinearLora, LoraSaved, ModelAdapters } from './linear.ts';

export interface LayerSaved<T = tf.Tensor> {
  norm1: NormSaved<T>;
  attn: AttentionSaved<T>;
  norm2: NormSaved<T>;
  /** Gate and up projections [N, I]. */
  g: T;
  u: T;
  lora: Map<string, LoraSaved<T>>;
}

/** Every tensor of a record (for dispose and memory accounting). */
export function savedTensors(s: LayerSaved): tf.Tensor[] {
  const out: tf.Tensor[] = [s.g, s.u, ...Object.values(s.norm1), ...Object.values(s.norm2), ...Object.values(s.attn)];
  for (const l of s.lora.values()) out.push(l.xd, l.t, ...(l.keep ? [l.keep] : []));
  return [...new Set(out.filter((t): t is tf.Tensor => t instanceof tf.Tensor))];
}

export function disposeSaved(s: LayerSaved): void {
  tf.dispose(savedTensors(s));
}

/**
 * x [N, H] → the layer's output [N, H]. With `save` (training), returns the record its backward needs; the output
 * and the record are the only tensors left behind.
 */
export function decoderLayerOps<T>(o: Ops<T>, model: LlamaModel, i: number, x: T, ctx: LayerContext, save = false): { y: T; saved?: LayerSaved<T> } {
  const l = model.layers[i];
  const eps = model.config.rmsNormEps;
  return o.tidy(() => {
    const lora = save ? new Map<string, LoraSaved<T>>() : undefined;
    const n1 = rmsNormOps(o, x, o.frozen(l.inputNorm), eps, save);
    const a = o.tidy(() => attentionForwardOps(o, model, i, n1.y, ctx, lora, save));
    const x2 = o.add(x, a.y); // [N, H]
    const n2 = rmsNormOps(o, x2, o.frozen(l.postNorm), eps, save);
    // Scopes inside the layer free each part's temporaries before the next part makes its own.
    const { g, u, y } = o.tidy(() => {
      const g = linear(o, model, l.gate, n2.y, ctx, lora); // [N, I]
      const u = linear(o, model, l.up, n2.y, ctx, lora); // [N, I]
      const m = o.tidy(() => o.mul(o.mul(g, o.sigmoid(g)), u)); // silu(g)·u
      return { g, u, y: o.add(x2, linear(o, model, l.down, m, ctx, lora)) };
    });
    if (!save) return { y };
    const saved: LayerSaved<T> = { norm1: n1.saved!, attn: a.saved!, norm2: n2.saved!, g: o.keep(g), u: o.keep(u), lora: lora! };
    return { y, saved };
  });
}

/** dy [N, H] → dx [N, H]; LoRA gradients go to `grads`. Does not dispose `saved`. */
export function decoderLayerBackwardOps<T>(o: Ops<T>, model: LlamaModel, i: number, saved: LayerSaved<T>, dy: T, ctx: LayerContext, grads: GradSink<T>): T {
  const l = model.layers[i];
  return o.tidy(() => {
    const { g, u, lora } = saved;
    // MLP: m = silu(g)·u, silu(g) = g·σ(g), silu'(g) = σ(g)·(1 + g·(1 − σ(g))).
    // [N, I] tensors are the widest of the layer: each is freed as soon as it is used (at most ~5 live at once).
    const dn2 = o.tidy(() => {
      const dm = linearBackward(o, model, l.down, dy, lora, grads); // [N, I]
      if (o.fused) {
        const { dg, du } = o.fused.swigluBackward(dm, g, u);
        const dnUp = linearBackward(o, model, l.up, du, lora, grads);
        return o.add(linearBackward(o, model, l.gate, dg, lora, grads), dnUp);
      }
      const sg = o.sigmoid(g);
      const du = o.tidy(() => o.mul(dm, o.mul(g, sg))); // ∂/∂u = dm·silu(g)
      const dnUp = linearBackward(o, model, l.up, du, lora, grads);
      o.dispose(du);
      // silu'(g) = σ + g·σ·(1 − σ), one [N, I] product at a time.
      const slope = [(t: T) => o.sub(1, t), (t: T) => o.mul(sg, t), (t: T) => o.mul(g, t), (t: T) => o.add(sg, t)]
        .reduce((t: T, f) => {
          const next = f(t);
          if (t !== sg) o.dispose(t);
          return next;
        }, sg);
      o.dispose(sg);
      const dmu = o.mul(dm, u);
      o.dispose(dm);
      const dg = o.mul(dmu, slope);
      o.dispose([dmu, slope]);
      const dnGate = linearBackward(o, model, l.gate, dg, lora, grads);
      o.dispose(dg);
      return o.add(dnGate, dnUp);
    });
    const dx2 = o.add(dy, rmsNormBackwardOps(o, saved.norm2, o.frozen(l.postNorm), dn2)); // residual + norm path
    const dn1 = o.tidy(() => attentionBackwardOps(o, model, i, saved.attn, dx2, ctx, lora, grads));
    return o.add(dx2, rmsNormBackwardOps(o, saved.norm1, o.frozen(l.inputNorm), dn1));
  });
}

export function decoderLayer(model: LlamaModel, i: number, x: tf.Tensor2D, ctx: LayerContext, save = false): { y: tf.Tensor2D; saved?: LayerSaved } {
  return decoderLayerOps(tfOps, model, i, x, ctx, save) as { y: tf.Tensor2D; saved?: LayerSaved };
}

export function decoderLayerBackward(model: LlamaModel, i: number, saved: LayerSaved, dy: tf.Tensor2D, ctx: LayerContext, grads: GradSink): tf.Tensor2D {
  return decoderLayerBackwardOps(tfOps, model, i, saved, dy, ctx, grads) as tf.Tensor2D;
}
