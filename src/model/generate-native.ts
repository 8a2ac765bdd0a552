// Generation on the native engine: each step reruns the whole forward (llama.ts hiddenOps, the source TF.js runs) as
// one ONNX Runtime graph over the sequence so far, padded at the end to a power-of-two length so that one session
// serves every step up to that length (causal attention: the padding changes no real position). Only the final-normed
// hidden state of the last real position [1, H] comes back; its logits [1, V] are the token table's (tableLogits, as
// on TF.js). docs/native-engine.md has the measurement that chose rerunning over a KV cache.
import * as tf from '@tensorflow/tfjs';
import { ModelUnsupported } from '../errors.ts';
import { hostInputs } from './eval-native.ts';
import { decoding, type GenerateOptions } from './generate.ts';
import { hiddenOps } from './llama.ts';
import { runGraph, type NativeOptions } from './native-run.ts';
import { GraphOps } from './onnx-ops.ts';
import { tableLogits, type LlamaModel } from './weights.ts';

/** Padded length of a sequence of n tokens: the next power of two, at least 16 (a session per length class). */
export function paddedLength(n: number): number {
  return Math.max(16, 2 ** Math.ceil(Math.log2(n)));
}

/** The next token's logits [V] after `seq`, on the native engine. */
export async function nextLogitsNative(model: LlamaModel, seq: number[], native: NativeOptions = {}): Promise<Float32Array> {
  const n = seq.length;
  const T = paddedLength(n);
  const window = model.config.slidingWindow;
  if (window !== null && n > window) {
    throw new ModelUnsupported(model.config.source, 'sliding_window', `window ${window} is in effect for ${n} tokens; sliding-window attention is not supported (use sequences of at most ${window} tokens)`);
  }
  const inputIds = new Int32Array(T); // [T]: the sequence, then padding (id 0) no real position attends to
  inputIds.set(seq);
  const host = hostInputs(model, { inputIds, B: 1, T });
  try {
    const g = new GraphOps();
    const last = (h: ReturnType<GraphOps['hosted']>) => g.gather(h, g.feed(Int32Array.of(n - 1), [1], 'int32')); // [1, H]
    g.output('h', hiddenOps(g, model, g.hosted(host.x0), host.ctx, last));
    const res = await runGraph(g, native);
    return tf.tidy(() => tableLogits(model.tokens, tf.tensor2d(res.h.data, [1, res.h.dims[1]])).dataSync() as Float32Array); // [V]
  } finally {
    host.free();
  }
}

/** generate on the native engine: the same choice of ids (greedy: the same tokens, to float rounding of the logits). */
export async function generateNative(model: LlamaModel, promptIds: ArrayLike<number>, opts: GenerateOptions = {}, native: NativeOptions = {}): Promise<number[]> {
  const d = decoding(model, promptIds, opts);
  const seq = Array.from(promptIds);
  const out: number[] = [];
  for (let step = 0; step < d.maxNew; step++) {
    const id = d.choose(await nextLogitsNative(model, seq, native));
    seq.push(id);
    out.push(id);
    opts.onToken?.(id);
    if (d.eos.has(id)) break;
  }
  return out;
}
