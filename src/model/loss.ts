// Causal-LM targets as HF ForCausalLMLoss builds them (llama-family-spec.md §4): shifted labels, ignore index −100. The loss itself
// is the chunked head's (src/model/head.ts): token mean over the scored targets.
import { ModelInputInvalid } from '../errors.ts';
import { IGNORE_INDEX } from './head.ts';

export { IGNORE_INDEX };

/** HF shift: target[b, t] = labels[b, t+1]; the last position of each row has no target. [B*T] → [B*T]. */
export function shiftLabels(labels: Int32Array, B: number, T: number): Int32Array {
  if (labels.length !== B * T) throw new ModelInputInvalid(`labels has ${labels.length} entries, expected B*T = ${B * T}`);
  const out = new Int32Array(B * T).fill(IGNORE_INDEX);
  for (let b = 0; b < B; b++) out.set(labels.subarray(b * T + 1, (b + 1) * T), b * T);
  return out;
}

/** Targets that are scored (not −100). */
export function countTargets(targets: Int32Array): number {
  let n = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] !== IGNORE_INDEX) n++;
  return n;
}
