// A trainable parameter is a tf.Variable with a stable, human-readable name. We key gradients,
// optimizer moments and checkpoint tensors by that name rather than by tf.Variable.name,
// because TF.js variable names must be unique per process (tests build many models).
// The model's trainable pieces (LoRA, token tables) hand out Params; src/train/grads.ts takes
// gradients by them.
import * as tf from '@tensorflow/tfjs';

export interface Param {
  /** Stable name, e.g. 'lora.model.layers.0.self_attn.q_proj.A' or 'tokens.embed'. */
  name: string;
  variable: tf.Variable;
}

/** Number of scalars in a list of params. */
export function countParams(params: Param[]): number {
  return params.reduce((n, p) => n + p.variable.size, 0);
}
