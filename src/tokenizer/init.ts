// Starting rows for new tokens, on plain Float32Arrays (the model code owns tensors and places
// the rows at the new ids). Methods (peft-trainable-tokens.md §5):
//  - subtoken-mean (default): mean of the rows of the pieces the BASE tokenizer gives the token's
//    text. A merge-mode word ('Ġacetaminophen') is split in its symbol form, i.e. with the leading
//    space it has in running text; an added token is encoded as its content alone.
//  - mean: mean of all old rows (transformers' mean_resizing without its 1e-9 covariance noise;
//    PEFT was observed to give exactly the mean).
//  - zero; random: seeded N(0, initializerRange) like _init_weights; copy:<token>: one base row.
// The untied head gets the same treatment from its own rows.
import type { TokenizerArtifact } from './items.ts';
import { TokenInitInvalid } from '../errors.ts';
import type { LoadedTokenizer } from './load.ts';
import { fromSymbols } from './symbols.ts';

export type InitMethod = 'subtoken-mean' | 'mean' | 'zero' | 'random' | `copy:${string}`;

export interface NewToken {
  id: number;
  /** Vocabulary string (added content, or symbol form of a BPE entry). */
  token: string;
  kind: 'added' | 'vocab';
}

/** The artifact's new ids, told apart: added tokens vs entries of model.vocab (merge mode). */
export function newTokensOf(artifact: TokenizerArtifact): NewToken[] {
  const added = new Set<number>();
  for (const t of artifact.tokenizerJson.added_tokens as Array<{ id: number; content: string }>) added.add(t.id);
  return artifact.newTokens.map((token, i) => ({ token, id: artifact.newTokenIds[i], kind: added.has(artifact.newTokenIds[i]) ? 'added' : 'vocab' }));
}

/** Base-tokenizer ids of the pieces a new token is made of. */
export function basePieces(base: LoadedTokenizer, t: NewToken): number[] {
  const pieces = t.kind === 'vocab' ? base.modelPieces(t.token).map((p) => base.tokenToId(p)) : Array.from(base.encode(t.token, { addSpecialTokens: false }));
  if (pieces.some((id) => id === undefined)) throw new TokenInitInvalid(`base tokenizer has no id for a piece of ${JSON.stringify(t.token)}`);
  return pieces as number[];
}

/**
 * Read access to a [V_old, D] matrix: the model side serves rows from its tensors, so a 152k-row embedding is never
 * copied whole into JS just to average a few of its rows.
 */
export interface RowSource {
  /** Rows V_old. */
  readonly count: number;
  /** Rows `ids`, [k, D] row-major. */
  rows(ids: number[]): Float32Array;
  /** Mean of all rows, accumulated in float64. */
  mean(): Float32Array;
}

/** A RowSource over a plain row-major array [V, D]. */
export function arrayRows(W: Float32Array, D: number): RowSource {
  return {
    count: W.length / D,
    rows: (ids) => {
      const out = new Float32Array(ids.length * D);
      ids.forEach((id, k) => out.set(W.subarray(id * D, (id + 1) * D), k * D));
      return out;
    },
    mean: () => meanRows(W, D, null),
  };
}

export interface InitArgs {
  /** Old embedding rows [V_old, D] (row-major array, or a RowSource). */
  embed: Float32Array | RowSource;
  /** Old untied head rows [V_old, D]; absent when tied (the head is the embedding). */
  head?: Float32Array | RowSource;
  D: number;
  baseTokenizer: LoadedTokenizer;
  newTokens: NewToken[];
  method?: InitMethod | string;
  /** config.initializer_range (std of `random`). Default 0.02. */
  initializerRange?: number;
  seed?: number;
}

export interface InitRows {
  /** [n, D], row i for newTokens[i]. */
  embedRows: Float32Array;
  /** [n, D] when a head was given. */
  headRows?: Float32Array;
  /** Base piece ids per token (subtoken-mean), or the copied id (copy:). */
  sources: number[][];
  method: string;
}

export function initNewRows(args: InitArgs): InitRows {
  const { D, newTokens } = args;
  const method = args.method ?? 'subtoken-mean';
  const source = (W: Float32Array | RowSource, what: string): RowSource => {
    if (!(W instanceof Float32Array)) return W;
    if (!Number.isInteger(W.length / D) || W.length === 0) throw new TokenInitInvalid(`${what} length ${W.length} is not a multiple of D=${D}`);
    return arrayRows(W, D);
  };
  const embed = source(args.embed, 'embedding');
  const head = args.head && source(args.head, 'head');
  const V = embed.count;
  if (head && head.count !== V) throw new TokenInitInvalid(`head has ${head.count} rows, embedding ${V}`);
  const n = newTokens.length;
  let sources: number[][];
  if (method === 'subtoken-mean') sources = newTokens.map((t) => basePieces(args.baseTokenizer, t));
  else if (method.startsWith('copy:')) sources = newTokens.map(() => [copySource(args.baseTokenizer, method.slice(5))]);
  else if (method === 'mean' || method === 'zero' || method === 'random') sources = newTokens.map(() => []);
  else throw new TokenInitInvalid(`unknown init method '${method}' (subtoken-mean, mean, zero, random, copy:<token>)`);
  for (const [i, s] of sources.entries()) {
    for (const id of s) if (id >= V) throw new TokenInitInvalid(`${JSON.stringify(newTokens[i].token)}: piece id ${id} is outside the old rows (V_old=${V})`);
  }
  const rng = gaussian(args.seed ?? 0);
  const std = args.initializerRange ?? 0.02;
  const rowsFor = (W: RowSource): Float32Array => {
    const out = new Float32Array(n * D); // [n, D]
    if (method === 'mean') {
      const mu = W.mean();
      for (let i = 0; i < n; i++) out.set(mu, i * D);
    } else if (method === 'random') {
      for (let k = 0; k < out.length; k++) out[k] = rng() * std;
    } else if (method !== 'zero') {
      // An empty piece list cannot happen for non-empty text; fall back to the mean to stay finite.
      sources.forEach((ids, i) => out.set(ids.length ? meanRows(W.rows(ids), D, null) : W.mean(), i * D));
    }
    return out;
  };
  return { embedRows: rowsFor(embed), headRows: head ? rowsFor(head) : undefined, sources, method };
}

function copySource(base: LoadedTokenizer, token: string): number {
  const direct = base.tokenToId(token);
  if (direct !== undefined) return direct;
  const ids = base.encode(token, { addSpecialTokens: false });
  if (ids.length !== 1) throw new TokenInitInvalid(`copy:${token}: the base tokenizer gives ${ids.length} tokens for it, not one`);
  return ids[0];
}

/** Mean of rows `ids` of W [V, D] (all rows when null), accumulated in float64. */
export function meanRows(W: Float32Array, D: number, ids: number[] | null): Float32Array {
  const acc = new Float64Array(D);
  const rows = ids ?? null;
  const count = rows ? rows.length : W.length / D;
  for (let r = 0; r < count; r++) {
    const off = (rows ? rows[r] : r) * D;
    for (let d = 0; d < D; d++) acc[d] += W[off + d];
  }
  const out = new Float32Array(D);
  for (let d = 0; d < D; d++) out[d] = acc[d] / count;
  return out;
}

/** Seeded standard normal draws: mulberry32 + Box-Muller (same seed, same rows, any machine). */
export function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = 1 - uniform(); // (0, 1]: log stays finite
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * Loss of the base model (new rows in place, before training) on positions whose target is a
 * new id. The model side implements it: encode eval text with the extended tokenizer, run the
 * forward pass, and average -log p(target) per target id.
 */
export type LossAtTargets = (ids: number[]) => Promise<Map<number, { loss: number; positions: number }>>;

export interface InitReportEntry {
  id: number;
  token: string;
  text: string;
  kind: NewToken['kind'];
  /** Source rows: base pieces (subtoken-mean) or the copied id. */
  sources: number[];
  sourceTokens: string[];
  /** L2 norm of the new embedding row. */
  norm: number;
  /** Mean loss where this id is the target (absent without a hook or with no such position). */
  loss?: number;
  positions?: number;
}

export interface InitReport {
  method: string;
  tokens: InitReportEntry[];
}

export async function initReport(base: LoadedTokenizer, newTokens: NewToken[], rows: InitRows, D: number, lossAtTargets?: LossAtTargets): Promise<InitReport> {
  const losses = lossAtTargets ? await lossAtTargets(newTokens.map((t) => t.id)) : new Map();
  const tokens = newTokens.map((t, i): InitReportEntry => {
    let sq = 0;
    for (let d = 0; d < D; d++) sq += rows.embedRows[i * D + d] ** 2;
    const l = losses.get(t.id);
    return {
      id: t.id,
      token: t.token,
      text: t.kind === 'vocab' ? fromSymbols(base.scheme, t.token) : t.token,
      kind: t.kind,
      sources: rows.sources[i],
      sourceTokens: rows.sources[i].map((id) => base.idToToken(id) ?? `#${id}`),
      norm: Math.sqrt(sq),
      ...(l && l.positions > 0 ? { loss: l.loss, positions: l.positions } : {}),
    };
  });
  return { method: rows.method, tokens };
}
