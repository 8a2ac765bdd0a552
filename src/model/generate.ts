// Autoregressive generation: greedy (default) or temperature / top-p sampling from a seeded RNG, with or without
// the KV cache (both give the same tokens; the no-cache path recomputes the whole sequence each step and exists
// as the check on the cache), stopping at any eos id. TextStreamer turns ids into text deltas as they arrive.
import { ModelInputInvalid } from '../errors.ts';
import { Rng } from './rng.ts';
import { KVCache } from './kv-cache.ts';
import { forward } from './llama.ts';
import type { LlamaModel } from './weights.ts';

export interface GenerateOptions {
  /** Default 64. */
  maxNewTokens?: number;
  /** Absent or 0: greedy. */
  temperature?: number;
  /** Nucleus sampling: keep the most likely tokens whose probabilities sum to at least topP (default 1). */
  topP?: number;
  /** Seed of the sampling RNG (default 0). */
  seed?: number;
  /** Stop ids; default the model's (generation_config.json, else config.json). The eos id is kept in the output. */
  eosTokenIds?: number[];
  /** Default true; false recomputes the full sequence each step. */
  useCache?: boolean;
  /** Called with each new id as soon as it is chosen. */
  onToken?: (id: number) => void;
}

/** What every engine's decoding loop shares: the checked options, the stop ids and the choice of the next id. */
export interface Decoding {
  maxNew: number;
  eos: Set<number>;
  /** The next id from a row of logits [V]: argmax when greedy, else a draw from the seeded RNG. */
  choose(row: Float32Array): number;
}

export function decoding(model: LlamaModel, promptIds: ArrayLike<number>, opts: GenerateOptions): Decoding {
  if (promptIds.length === 0) throw new ModelInputInvalid('generate needs a prompt of at least one token');
  const temperature = opts.temperature ?? 0;
  const topP = opts.topP ?? 1;
  if (!(temperature >= 0)) throw new ModelInputInvalid(`temperature must be >= 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new ModelInputInvalid(`top-p must be in (0, 1], got ${topP}`);
  const rng = Rng.seeded(opts.seed ?? 0, 'generate');
  return {
    maxNew: opts.maxNewTokens ?? 64,
    eos: new Set(opts.eosTokenIds ?? model.config.eosTokenIds),
    choose: (row) => (temperature === 0 ? argmax(row) : sample(row, temperature, topP, rng)),
  };
}

/** Returns the new ids (not the prompt). */
export function generate(model: LlamaModel, promptIds: ArrayLike<number>, opts: GenerateOptions = {}): number[] {
  const d = decoding(model, promptIds, opts);
  const seq = Array.from(promptIds);
  const out: number[] = [];
  const cache = opts.useCache === false ? null : new KVCache(model.layers.length);
  try {
    for (let step = 0; step < d.maxNew; step++) {
      // With a cache, the first step feeds the prompt, later steps only the newest token.
      const feed = cache === null ? seq : step === 0 ? seq : seq.slice(-1);
      const logits = forward(model, {
        inputIds: Int32Array.from(feed),
        B: 1,
        T: feed.length,
        cache: cache ?? undefined,
        lastOnly: true,
      }); // [1, 1, V]
      const row = logits.dataSync() as Float32Array;
      logits.dispose();
      const id = d.choose(row);
      seq.push(id);
      out.push(id);
      opts.onToken?.(id);
      if (d.eos.has(id)) break;
    }
  } finally {
    cache?.dispose();
  }
  return out;
}

/** First index of the maximum (torch.argmax picks the first too). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Softmax(logits / temperature) restricted to the top-p nucleus, sampled with one uniform draw. */
export function sample(logits: ArrayLike<number>, temperature: number, topP: number, rng: Rng): number {
  const V = logits.length;
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[i]);
  const p = new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) z += p[i] = Math.exp((logits[i] - max) / temperature);
  let order: number[] | Int32Array;
  let total: number;
  if (topP < 1) {
    order = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
    let kept = 0;
    total = 0;
    while (kept < V && total < topP * z) total += p[order[kept++]];
    order = order.slice(0, kept);
  } else {
    order = Int32Array.from({ length: V }, (_, i) => i);
    total = z;
  }
  let u = rng.uniform() * total;
  for (const i of order) {
    u -= p[i];
    if (u < 0) return i;
  }
  return order[order.length - 1];
}

/** What TextStreamer needs of a tokenizer (src/tokenizer's LoadedTokenizer is one): the model library knows no tokenizer. */
export interface TokenDecoder {
  decode(ids: ArrayLike<number>, opts: { skipSpecialTokens: boolean }): string;
}

/**
 * Text of the generated ids as it grows. Decoding the prompt and the new ids together (and emitting the part
 * past the prompt) keeps word-initial spaces that decoding new ids alone would strip; a trailing U+FFFD means
 * a multi-byte character is still incomplete, so it is held back until the next id completes it.
 */
export class TextStreamer {
  private ids: number[];
  private readonly base: string;
  private emitted = '';

  constructor(private readonly tokenizer: TokenDecoder, promptIds: ArrayLike<number>) {
    this.ids = Array.from(promptIds);
    this.base = this.decode();
  }

  /** Adds one id; returns the new text that is now certain (possibly ''). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.decode();
    if (text.endsWith('\uFFFD')) return '';
    return this.take(text);
  }

  /** Whatever is left (an incomplete character is emitted as decoded). */
  end(): string {
    return this.take(this.decode());
  }

  private take(text: string): string {
    const full = text.startsWith(this.base) ? text.slice(this.base.length) : text;
    if (!full.startsWith(this.emitted)) return ''; // the decoder rewrote earlier text; emit nothing rather than garble
    const delta = full.slice(this.emitted.length);
    this.emitted = full;
    return delta;
  }

  private decode(): string {
    return this.tokenizer.decode(this.ids, { skipSpecialTokens: true });
  }
}

