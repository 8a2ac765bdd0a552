// AdamW with the exact update order of torch.optim.AdamW (single-tensor path, amsgrad off):
//   p  <- p * (1 - lr*wd)                       decoupled weight decay, before the moments
//   m  <- lerp(m, g, 1-b1)                      torch: exp_avg.lerp_(grad, 1-beta1)
//   v  <- v*b2 + (1-b2)*g*g                     torch: exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2)
//   p  <- p - (lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps)     eps outside the sqrt
// Step counts are per parameter, like torch's state['step'], so a parameter that got no
// gradient in an update is skipped entirely.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { OptimizerStateMismatch } from '../errors.ts';
import type { Param } from '../model/params.ts';
import type { Grads } from './grads.ts';

export const AdamWConfig = z.strictObject({
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
  eps: z.number().positive().default(1e-8),
});
export type AdamWConfig = z.infer<typeof AdamWConfig>;

/** Params sharing a base learning rate and weight decay (e.g. LoRA vs token rows). */
export interface ParamGroup {
  name: string;
  /** Base lr; the schedule multiplies it each update. */
  lr: number;
  weightDecay: number;
  params: Param[];
}

/** Serialisable optimizer state: per-param step and both moments as plain float32 arrays. */
export interface AdamWState {
  params: Array<{ name: string; shape: number[]; step: number; expAvg: Float32Array; expAvgSq: Float32Array }>;
}

interface Slot {
  param: Param;
  group: ParamGroup;
  step: number;
  m: tf.Variable;
  v: tf.Variable;
}

export class AdamW {
  readonly groups: ParamGroup[];
  private readonly cfg: AdamWConfig;
  private readonly slots = new Map<string, Slot>();

  constructor(groups: ParamGroup[], cfg: Partial<AdamWConfig> = {}) {
    this.groups = groups;
    this.cfg = AdamWConfig.parse(cfg);
    for (const group of groups) {
      for (const param of group.params) {
        // internal: the trainer builds the groups; a param in two is a bug.
        if (this.slots.has(param.name)) throw new Error(`AdamW: param "${param.name}" is in two groups`);
        // tf.variable copies its initial value: free the zeros it was made from.
        const zeros = () => {
          const z = tf.zerosLike(param.variable);
          const v = tf.variable(z, false);
          z.dispose();
          return v;
        };
        this.slots.set(param.name, { param, group, step: 0, m: zeros(), v: zeros() });
      }
    }
  }

  /** Bytes held by the moments (two float32 tensors per param). */
  stateBytes(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.m.size + s.v.size;
    return n * 4;
  }

  /** The lr each group uses for an update with schedule multiplier `factor`. */
  groupLrs(factor: number): Record<string, number> {
    return Object.fromEntries(this.groups.map((g) => [g.name, g.lr * factor]));
  }

  /**
   * One update. `factor` is the schedule multiplier for this update; every gradient is multiplied by `gradScale`
   * first (global-norm clipping's coefficient). Does not dispose `grads`. Each parameter is updated on its own, its
   * temporaries freed before the next one: at most a few copies of the largest parameter exist at once (for 'full'
   * mode, a whole [V, H] matrix each).
   */
  step(grads: Grads, factor: number, gradScale = 1): void {
    const [b1, b2] = this.cfg.betas;
    for (const slot of this.slots.values()) {
      const graw = grads.get(slot.param.name);
      if (graw === undefined) continue;
      slot.step += 1;
      const lr = slot.group.lr * factor;
      const wd = slot.group.weightDecay;
      const stepSize = lr / (1 - b1 ** slot.step);
      const bc2Sqrt = Math.sqrt(1 - b2 ** slot.step);
      const g = gradScale === 1 ? graw : tf.mul(graw, gradScale);
      const m = tf.tidy(() => slot.m.add(g.sub(slot.m).mul(1 - b1)));
      slot.m.assign(m);
      m.dispose();
      const v = tf.tidy(() => slot.v.mul(b2).add(g.mul(1 - b2).mul(g)));
      slot.v.assign(v);
      v.dispose();
      if (g !== graw) g.dispose();
      const next = tf.tidy(() => {
        const update = slot.m.div(slot.v.sqrt().div(bc2Sqrt).add(this.cfg.eps)).mul(stepSize);
        const p = wd !== 0 ? slot.param.variable.mul(1 - lr * wd) : slot.param.variable;
        return p.sub(update);
      });
      slot.param.variable.assign(next);
      next.dispose();
    }
  }

  /** Copy of the state for a checkpoint (reads tensors back to JS). */
  exportState(): AdamWState {
    return {
      params: [...this.slots.values()].map((s) => ({
        name: s.param.name,
        shape: s.param.variable.shape.slice(),
        step: s.step,
        expAvg: s.m.dataSync() as Float32Array,
        expAvgSq: s.v.dataSync() as Float32Array,
      })),
    };
  }

  /** Restore from `exportState()` output; every param must match by name and shape. */
  importState(state: AdamWState): void {
    const seen = new Set<string>();
    for (const p of state.params) {
      const slot = this.slots.get(p.name);
      if (!slot) throw new OptimizerStateMismatch(`saved state has param "${p.name}" that this run does not train`);
      const shape = slot.param.variable.shape;
      if (p.shape.join(',') !== shape.join(',') || p.expAvg.length !== slot.m.size || p.expAvgSq.length !== slot.v.size) {
        throw new OptimizerStateMismatch(
          `param "${p.name}": saved shape [${p.shape}] but this run has [${shape}]`,
        );
      }
      seen.add(p.name);
    }
    const missing = [...this.slots.keys()].filter((n) => !seen.has(n));
    if (missing.length > 0) throw new OptimizerStateMismatch(`saved state lacks params: ${missing.join(', ')}`);
    for (const p of state.params) {
      const slot = this.slots.get(p.name)!;
      slot.step = p.step;
      tf.tidy(() => {
        slot.m.assign(tf.tensor(p.expAvg, slot.m.shape, 'float32'));
        slot.v.assign(tf.tensor(p.expAvgSq, slot.v.shape, 'float32'));
      });
    }
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }
}
