// llama.cpp for tests, through node-llama-cpp installed in .cache/llama by tools/llama/ensure.mjs
// (bin/test.mjs runs it before any *llama-cpp* test file). Loads the prebuilt CPU binary only:
// no download, no build. The few calls the tests use are typed here, since the package is not a
// dependency of the main install (so `tsc` does not see it).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
// @ts-expect-error: plain .mjs without types
import { ensureLlama } from '../../tools/llama/ensure.mjs';

export interface LlamaCppModel {
  tokenize(text: string, specialTokens?: boolean): number[];
  detokenize(tokens: readonly number[], specialTokens?: boolean): string;
  readonly tokens: { bos: number | null; eos: number | null; shouldPrependBosToken: boolean; shouldAppendEosToken: boolean };
  isEogToken?(token: number): boolean;
  createContext(opts: { contextSize: number; batchSize?: number; threads?: number }): Promise<LlamaCppContext>;
  dispose(): Promise<void>;
}
export interface LlamaCppContext {
  getSequence(): {
    controlledEvaluate(input: Array<number | [number, { generateNext: Record<string, unknown> }]>): Promise<Array<{ next: { token?: number | null; probabilities?: Map<number, number> } } | undefined>>;
  };
  dispose(): Promise<void>;
}
interface Llama {
  loadModel(opts: { modelPath: string }): Promise<LlamaCppModel>;
}

let llama: Promise<Llama> | null = null;

/** The llama.cpp runtime (CPU, prebuilt), loaded once per process. */
export function getLlamaCpp(): Promise<Llama> {
  llama ??= (async () => {
    const dir: string = ensureLlama({ log: () => {} });
    const mod = await import(pathToFileURL(path.join(dir, 'node_modules', 'node-llama-cpp', 'dist', 'index.js')).href);
    return mod.getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, logLevel: mod.LlamaLogLevel.error });
  })();
  return llama;
}

/** llama_tokenize with add_special and parse_special: BOS/EOS as the file's add_bos/add_eos say. */
export function llamaTokenize(model: LlamaCppModel, text: string): number[] {
  const t = model.tokens;
  return [...(t.shouldPrependBosToken ? [t.bos!] : []), ...model.tokenize(text, true), ...(t.shouldAppendEosToken ? [t.eos!] : [])];
}

/**
 * A context on one thread: llama.cpp's worker threads spin while they wait, and on a busy two-core
 * machine more threads made a 256-token evaluation 8x slower (3.0 s against 0.37 s).
 */
export function llamaContext(model: LlamaCppModel, contextSize: number): Promise<LlamaCppContext> {
  return model.createContext({ contextSize, threads: 1 });
}

const FULL = { temperature: 1, topK: 0, topP: 1, minP: 0 };

/** Natural-log probability llama.cpp gives each next token of `ids` (ids[1..] given ids[..i]). */
export async function llamaLogProbs(ctx: LlamaCppContext, ids: number[]): Promise<number[]> {
  const seq = ctx.getSequence();
  const input = ids.slice(0, -1).map((id) => [id, { generateNext: { probabilities: true, options: FULL } }] as [number, { generateNext: Record<string, unknown> }]);
  const out = await seq.controlledEvaluate(input);
  return out.map((o, i) => Math.log(o!.next.probabilities!.get(ids[i + 1]) ?? 0));
}

/** Greedy continuation by llama.cpp: argmax of its next-token probabilities, stopping after an id in `stop`. */
export async function llamaGreedy(ctx: LlamaCppContext, prompt: number[], maxNew: number, stop: Set<number>): Promise<number[]> {
  const seq = ctx.getSequence();
  const out: number[] = [];
  let feed: Array<number | [number, { generateNext: Record<string, unknown> }]> = [...prompt.slice(0, -1), [prompt.at(-1)!, { generateNext: { probabilities: true, options: FULL } }]];
  for (let i = 0; i < maxNew; i++) {
    const r = await seq.controlledEvaluate(feed);
    const probs = r.at(-1)!.next.probabilities!;
    // The map is sorted from the most likely; ties keep the lower id first, like argmax.
    let best = -1, bestP = -1;
    for (const [id, p] of probs) if (p > bestP || (p === bestP && id < best)) (best = id), (bestP = p);
    out.push(best);
    if (stop.has(best)) break;
    feed = [[best, { generateNext: { probabilities: true, options: FULL } }]];
  }
  return out;
}
