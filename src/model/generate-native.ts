// Generation on the native engine: each step reruns the whole forward (llama.ts hiddenOps, the source TF.js runs) as
// one ONNX Runtime graph over the sequence so far, padded at the end to a power-of-two length so that one session
// serves every step up to that length (causal attention: the padding changes no real position); or, with the KV
// cache, the newest token only, the past keys/values fed and returned. Only the last real position's logits [1, V]
// come back (head.ts headLogitsOps, the source TF.js's tableLogits runs). docs/native-engine.md has the measurement that made the KV cache the default.
import * as tf from '@tensorflow/tfjs';
import { ModelUnsupported } from '../errors.ts';
import { graphColumns, hostInputs } from './eval-native.ts';
import { headLogitsOps } from './head.ts';
import { decoding, type Decoding, type GenerateOptions } from './generate.ts';
import { hiddenOps } from './llama.ts';
import { runGraph, type NativeOptions } from './native-run.ts';
import { GraphOps, type Sym } from './onnx-ops.ts';
import { buildMask } from './attention.ts';
import { ropeTables } from './rope.ts';
import type { LlamaModel } from './weights.ts';

/** The token table's logits [1, V] of one row (head.ts headLogitsOps, as TF.js's tableLogits), in the graph. */
function logitsOps(g: GraphOps, model: LlamaModel, h: Sym): Sym {
  return headLogitsOps(g, h, graphColumns(g, model, model.tokens.headColumns()), model.tokens.vocabSize);
}

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
    g.output('logits', logitsOps(g, model, hiddenOps(g, model, g.hosted(host.x0), host.ctx, last)));
    return (await runGraph(g, native)).logits.data; // [V]
  } finally {
    host.free();
  }
}

/** The rerunning path (useCache false): each step the padded forward over the whole sequence. */
async function generateRerun(model: LlamaModel, d: Decoding, promptIds: ArrayLike<number>, opts: GenerateOptions, native: NativeOptions): Promise<number[]> {
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

/** The native engine's KV cache: past keys/values per layer [1, nkv, P, D] on the host, fed to the next step's graph. */
class GraphKV {
  private next: Array<{ k: Sym; v: Sym }> = [];
  constructor(private readonly g: GraphOps, private readonly past: Array<{ k: Float32Array; v: Float32Array }> | null, private readonly P: number) {}

  /** This step's keys/values [1, nkv, T, D] joined after the past ones (an axis named 'P': one session for every step). */
  append(layer: number, k: Sym, v: Sym): [Sym, Sym] {
    const [B, nkv, , D] = k.shape;
    const join = (x: Sym, past: Float32Array | undefined) => (past ? this.g.concat([this.g.feed(past, [B, nkv, this.P, D], 'float32', [null, null, 'P', null]), x], 2) : x);
    const kk = join(k, this.past?.[layer].k);
    const vv = join(v, this.past?.[layer].v);
    this.next[layer] = { k: kk, v: vv };
    return [kk, vv];
  }

  /** Marks every layer's whole keys/values as outputs. */
  outputs(): void {
    this.next.forEach((kv, i) => (this.g.output(`k${i}`, kv.k), this.g.output(`v${i}`, kv.v)));
  }
}

/**
 * One step with the KV cache on the native engine: `feed` (the prompt, or the newest token) at positions past.., the
 * past keys/values fed and the whole ones returned. Returns the next token's logits [V] and the new past.
 */
export async function stepCachedNative(
  model: LlamaModel, feed: number[], past: { P: number; kv: Array<{ k: Float32Array; v: Float32Array }> } | null, native: NativeOptions = {},
): Promise<{ logits: Float32Array; past: { P: number; kv: Array<{ k: Float32Array; v: Float32Array }> } }> {
  const T = feed.length;
  const P = past?.P ?? 0;
  const window = model.config.slidingWindow;
  if (window !== null && P + T > window) {
    throw new ModelUnsupported(model.config.source, 'sliding_window', `window ${window} is in effect for ${P + T} tokens; sliding-window attention is not supported (use sequences of at most ${window} tokens)`);
  }
  const positions = Int32Array.from({ length: T }, (_, t) => P + t);
  const rope = ropeTables(positions, model.invFreq);
  const mask = buildMask(1, T, P, null); // [1, 1, 1, T, P+T]
  const x0 = tf.tidy(() => model.tokens.embed(tf.tensor1d(Int32Array.from(feed), 'int32'))) as tf.Tensor2D; // [T, H]
  try {
    const g = new GraphOps();
    if (past) g.hostedVarying(mask, [null, null, null, null, 'Tk']);
    const kv = new GraphKV(g, past?.kv ?? null, P);
    const last = (h: Sym) => (T === 1 ? h : g.slice(h, [T - 1, 0], [1, g.shape(h)[1]])); // [1, H]
    g.output('logits', logitsOps(g, model, hiddenOps(g, model, g.hosted(x0), { B: 1, T, rope, mask, cache: kv }, last)));
    kv.outputs();
    const res = await runGraph(g, native);
    return { logits: res.logits.data, past: { P: P + T, kv: model.layers.map((_, i) => ({ k: res[`k${i}`].data, v: res[`v${i}`].data })) } };
  } finally {
    tf.dispose([x0, rope.cos, rope.sinSigned, mask]);
  }
}

/**
 * generate on the native engine: the same choice of ids (greedy: the same tokens, to float rounding of the logits).
 * With the KV cache (default; measured 3x faster than rerunning on a SmolLM2-135M shape, docs/native-engine.md) the
 * prompt's graph runs once, then one decoding graph serves every later step; useCache false reruns the padded forward.
 */
export async function generateNative(model: LlamaModel, promptIds: ArrayLike<number>, opts: GenerateOptions = {}, native: NativeOptions = {}): Promise<number[]> {
  const d = decoding(model, promptIds, opts);
  if (opts.useCache === false) return generateRerun(model, d, promptIds, opts, native);
  const out: number[] = [];
  let past: Awaited<ReturnType<typeof stepCachedNative>>['past'] | null = null;
  let feed = Array.from(promptIds);
  for (let step = 0; step < d.maxNew; step++) {
    const r: Awaited<ReturnType<typeof stepCachedNative>> = await stepCachedNative(model, feed, past, native);
    past = r.past;
    const id = d.choose(r.logits);
    out.push(id);
    feed = [id];
    opts.onToken?.(id);
    if (d.eos.has(id)) break;
  }
  return out;
}
