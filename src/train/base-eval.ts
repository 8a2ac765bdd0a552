// The base model with its own tokenizer on the evaluator's eval text: the honest "before" of bits
// per byte. The step-0 evaluation scores the base weights through the EXTENDED tokenizer (new rows
// initialised, never trained); the base model was never asked to predict those ids. Here the eval
// batches are cut back into text and re-encoded with the base tokenizer, and the step-0 model
// (LoRA still zero, every base row as loaded) is scored against the base head columns only.
//
// Which text is scored: per document fragment of a packed row, the runs of scored target tokens
// (e.g. the assistant turns) are scored, the runs between them are context. Each run is turned into
// its exact text (src/tokenizer/bytes.ts idsText) and encoded on its own with the base tokenizer,
// so the scored bytes are the same for both tokenizers. Encoding runs apart may cut a base token
// at a run boundary that a whole-text encoding would not; the chat markers sit at those boundaries.
// A SentencePiece (Metaspace) tokenizer prefixes every encoded text with its space marker, which
// would add a space to each run: there a run is encoded after an anchor ("\n", a byte token that
// merges with nothing) and the anchor's ids are dropped. Every re-encoded run must decode back to
// exactly its text, or no baseline is given (undefined) rather than a figure over other bytes.
import * as tf from '@tensorflow/tfjs';
import { PAD_DOCUMENT } from '../io/arrow.ts';
import { IGNORE_INDEX, type HeadColumns } from '../model/head.ts';
import type { NativeOptions } from '../model/native-run.ts';
import type { LlamaModel } from '../model/weights.ts';
import { isDiskTensor } from '../model/weights-disk.ts';
import { idsText, tokenByteLengths } from '../tokenizer/bytes.ts';
import type { LoadedTokenizer } from '../tokenizer/load.ts';
import { evaluate, evaluateOn, type EvalMetrics } from './evaluate.ts';
import type { StepBatch } from './step.ts';

interface Fragment {
  ids: number[];
  /** scored[k]: whether ids[k] is the target of a scored position (ids[0] never is). */
  scored: boolean[];
}

/** Document fragments of one row: contiguous positions of one document id, padding left out. */
function rowFragments(b: StepBatch, row: number): Fragment[] {
  const out: Fragment[] = [];
  const at = row * b.T;
  for (let s = 0; s < b.T; ) {
    const doc = b.documentIds[at + s];
    let e = s + 1;
    while (e < b.T && b.documentIds[at + e] === doc) e++;
    if (doc !== PAD_DOCUMENT) {
      const ids = Array.from(b.inputIds.subarray(at + s, at + e));
      out.push({ ids, scored: ids.map((_, k) => k > 0 && b.targets[at + s + k - 1] !== IGNORE_INDEX) });
    }
    s = e;
  }
  return out;
}

const ANCHOR = '\n';

/** Extended ids of one run → base ids, or null when the run does not re-encode to exactly its text. */
type RunEncoder = (run: number[]) => number[] | null;

/**
 * Built once per evaluation (the special ids and the anchor's ids do not change). The base
 * tokenizer's own special tokens (BOS, ...) keep their ids: encoded as text, a SentencePiece
 * tokenizer would put its space marker after each of them again. The text between them is encoded
 * as it would follow other text: as is for a byte-level tokenizer, after the anchor otherwise.
 */
function runEncoder(ext: LoadedTokenizer, base: LoadedTokenizer): RunEncoder {
  const special = new Set(base.addedTokens.filter((t) => t.special).map((t) => t.id));
  const anchor = base.encode(ANCHOR, { addSpecialTokens: false });
  const encodeText = (text: string): Int32Array | null => {
    if (base.scheme.kind === 'byte-level') return base.encode(text, { addSpecialTokens: false });
    const ids = base.encode(ANCHOR + text, { addSpecialTokens: false });
    const run = ids.subarray(anchor.length);
    return anchor.every((id, k) => ids[k] === id) && idsText(base, run) === text ? run : null;
  };
  return (run) => {
    const out: number[] = [];
    for (let s = 0; s < run.length; ) {
      if (special.has(run[s])) {
        out.push(run[s++]);
        continue;
      }
      let e = s + 1;
      while (e < run.length && !special.has(run[e])) e++;
      const ids = encodeText(idsText(ext, run.slice(s, e)));
      if (!ids) return null;
      out.push(...ids);
      s = e;
    }
    return out;
  };
}

/** The same fragment in the base tokenizer's ids: each run of scored / context tokens re-encoded on its own. */
function reencode(f: Fragment, encode: RunEncoder): Fragment | null {
  const out: Fragment = { ids: [], scored: [] };
  for (let s = 0; s < f.ids.length; ) {
    let e = s + 1;
    while (e < f.ids.length && f.scored[e] === f.scored[s]) e++;
    const ids = encode(f.ids.slice(s, e));
    if (!ids) return null;
    for (const id of ids) out.ids.push(id), out.scored.push(f.scored[s]);
    s = e;
  }
  if (out.scored.length > 0) out.scored[0] = false; // nothing predicts a fragment's first token
  return out;
}

/**
 * One batch of base ids per eval batch: each row holds its fragments re-encoded, rows padded to the
 * longest; null when some run does not re-encode to exactly its text.
 */
export function reencodeBatches(batches: StepBatch[], ext: LoadedTokenizer, base: LoadedTokenizer): StepBatch[] | null {
  const encode = runEncoder(ext, base);
  const all = batches.map((b) => Array.from({ length: b.B }, (_, r) => rowFragments(b, r).map((f) => reencode(f, encode))));
  if (all.some((rows) => rows.some((fs) => fs.some((f) => f === null)))) return null;
  return batches.map((b, i) => {
    const rows = all[i] as Fragment[][];
    const T = Math.max(2, ...rows.map((fs) => fs.reduce((n, f) => n + f.ids.length, 0)));
    const inputIds = new Int32Array(b.B * T); // [B*T]
    const targets = new Int32Array(b.B * T).fill(IGNORE_INDEX);
    const positionIds = new Int32Array(b.B * T);
    const documentIds = new Int32Array(b.B * T).fill(PAD_DOCUMENT);
    rows.forEach((fs, r) => {
      let at = r * T;
      fs.forEach((f, d) => {
        f.ids.forEach((id, k) => {
          inputIds[at + k] = id;
          positionIds[at + k] = k;
          documentIds[at + k] = d;
          if (f.scored[k]) targets[at + k - 1] = id;
        });
        at += f.ids.length;
      });
    });
    return { B: b.B, T, inputIds, targets, positionIds, documentIds };
  });
}

/**
 * Loss and bits per byte of the base model with the base tokenizer on the eval batches' text.
 * `model` must still hold the base weights (the step-0 trainer); `baseRows` is the checkpoint's
 * head rows, so new tokens' columns are left out of the softmax. Undefined when the text does not re-encode exactly.
 */
export function evaluateBaseOwn(model: LlamaModel, batches: StepBatch[], ext: LoadedTokenizer, base: LoadedTokenizer, baseRows: number): EvalMetrics['baseOwn'] {
  const reencoded = reencodeFor(batches, ext, base);
  if (!reencoded) return undefined;
  const { columns, release } = baseColumns(model, baseRows);
  try {
    return own(evaluate(model, reencoded, [], [], { byteLengths: tokenByteLengths(base), columns }));
  } finally {
    release();
  }
}

/** evaluateBaseOwn on the native engine (`native` given: the forward and head as graphs, as the evaluator runs), else on TF.js. */
export async function evaluateBaseOwnOn(
  model: LlamaModel, batches: StepBatch[], ext: LoadedTokenizer, base: LoadedTokenizer, baseRows: number, native?: NativeOptions,
): Promise<EvalMetrics['baseOwn']> {
  if (!native) return evaluateBaseOwn(model, batches, ext, base, baseRows);
  const reencoded = reencodeFor(batches, ext, base);
  if (!reencoded) return undefined;
  const { columns, release } = baseColumns(model, baseRows);
  try {
    return own(await evaluateOn(model, reencoded, [], [], { byteLengths: tokenByteLengths(base), columns, native }));
  } finally {
    release();
  }
}

function reencodeFor(batches: StepBatch[], ext: LoadedTokenizer, base: LoadedTokenizer): StepBatch[] | null {
  return base.scheme.kind === 'other' ? null : reencodeBatches(batches, ext, base);
}

const own = (m: EvalMetrics): EvalMetrics['baseOwn'] => ({ tokens: m.tokens, loss: m.loss, bytes: m.bytes!, bitsPerByte: m.bitsPerByte! });

/** The head's first `baseRows` rows (the checkpoint's), so new tokens' columns are left out of the softmax. */
function baseColumns(model: LlamaModel, baseRows: number): { columns: HeadColumns; release: () => void } {
  const all = model.tokens.headColumns().head;
  const rows = Math.min(all.shape[0], baseRows);
  const d: unknown = all;
  const head = rows === all.shape[0] ? all
    : isDiskTensor(d) ? d.firstRows(rows).asTensor<tf.Tensor2D>() // the same file: no copy
    : (tf.slice(all, [0, 0], [rows, all.shape[1]]) as tf.Tensor2D); // [V0, D]
  return { columns: { head, masked: [], extra: null, extraIds: [] }, release: () => head !== all && head.dispose() };
}
