// Packing tokenized documents into rows of seqLen tokens and batches of B rows (main thread).
//
// Documents are laid end to end in arrival order (each already ends with EOS), so the
// non-padding tokens of all batches, read in order, are exactly every document's tokens in
// order: no token is lost or reordered. A document that does not fit in the rest of a row
// continues at the start of the next row (mode 'stream'), or first moves to a fresh row when
// it would fit in one (mode 'fit'; longer ones are still split). A continued piece restarts
// its position ids at 0 and keeps its document id; its first label is -100 because nothing
// before it in that row may predict it (HF shifts labels inside the loss).
import { IGNORE_INDEX, PAD_DOCUMENT, type BatchArrays } from '../io/arrow.ts';

export interface PackOptions {
  seqLen: number;
  batchSize: number;
  mode: 'stream' | 'fit';
  padId: number;
  /** What to do with a last batch of fewer than batchSize rows: pad it with empty rows, keep it short, or drop it. */
  finalBatch: 'pad' | 'keep' | 'drop';
  /** Full-size batch arrays to reuse once their batches are written (see BatchRecycler). */
  recycler?: BatchRecycler;
}

/**
 * Batch arrays handed back after their shard is on disk, for the next batches. Each batch is
 * 16 bytes a token position (128 KB at B=8 T=1024); fresh ones for every batch were most of the
 * main thread's ArrayBuffer churn while packing, and that churn set off a full garbage collection
 * two or three times per 5 MB of text.
 */
export class BatchRecycler {
  private readonly free: BatchArrays[] = [];
  constructor(
    private readonly size: number,
    private readonly keep: number,
  ) {}
  take(): BatchArrays | undefined {
    return this.free.pop();
  }
  /** `b` must no longer be read or written by anyone: its shard is written. */
  give(b: BatchArrays): void {
    if (this.free.length < this.keep && b.input_ids.length === this.size) this.free.push(b);
  }
}

export interface PackStats {
  documents: number;
  /** Document tokens placed (not padding). */
  tokens: number;
  /** Tokens the loss scores (labels != -100). */
  scored: number;
  padding: number;
  rows: number;
  batches: number;
  /** Tokens lost with a dropped final batch (finalBatch 'drop'). */
  dropped: number;
}

export class Packer {
  readonly stats: PackStats = { documents: 0, tokens: 0, scored: 0, padding: 0, rows: 0, batches: 0, dropped: 0 };
  private cur: BatchArrays;
  private row = 0;
  private col = 0;
  private readonly T: number;
  private readonly B: number;

  constructor(private readonly opts: PackOptions) {
    this.T = opts.seqLen;
    this.B = opts.batchSize;
    this.cur = this.fresh(this.B);
  }

  /** Places one document ([n] ids and labels); returns the batches it completed. */
  add(ids: Int32Array, labels: Int32Array): BatchArrays[] {
    const out: BatchArrays[] = [];
    const { T } = this;
    const docId = this.stats.documents++;
    const n = ids.length;
    if (this.opts.mode === 'fit' && this.col > 0 && n <= T && n > T - this.col) this.endRow(out);
    let off = 0;
    while (off < n) {
      const take = Math.min(T - this.col, n - off);
      const at = this.row * T + this.col; // flat index into [B*T]
      const c = this.cur;
      c.input_ids.set(ids.subarray(off, off + take), at);
      c.labels.set(labels.subarray(off, off + take), at);
      // A piece that continues a document at the start of a row has no context to be predicted from.
      if (off > 0) c.labels[at] = IGNORE_INDEX;
      for (let t = 0; t < take; t++) {
        c.position_ids[at + t] = t;
        c.document_ids[at + t] = docId;
        if (c.labels[at + t] !== IGNORE_INDEX) this.stats.scored++;
      }
      this.stats.tokens += take;
      off += take;
      this.col += take;
      if (this.col === T) this.endRow(out);
    }
    return out;
  }

  /** Flushes the last partial row and batch under the finalBatch policy. */
  finish(): BatchArrays[] {
    const out: BatchArrays[] = [];
    if (this.col > 0) this.endRow(out);
    if (this.row === 0) return out;
    const rows = this.row;
    if (this.opts.finalBatch === 'drop') {
      for (let i = 0; i < rows * this.T; i++) if (this.cur.document_ids[i] !== PAD_DOCUMENT) this.stats.dropped++;
    } else if (this.opts.finalBatch === 'keep') {
      const n = rows * this.T;
      const short = this.fresh(rows);
      for (const k of Object.keys(short) as Array<keyof BatchArrays>) short[k].set(this.cur[k].subarray(0, n));
      this.emit(out, short);
    } else {
      this.stats.padding += (this.B - rows) * this.T;
      this.emit(out, this.cur);
    }
    this.row = 0;
    this.cur = this.fresh(this.B);
    return out;
  }

  private endRow(out: BatchArrays[]): void {
    this.stats.padding += this.T - this.col;
    this.stats.rows++;
    this.col = 0;
    if (++this.row === this.B) {
      this.emit(out, this.cur);
      this.row = 0;
      this.cur = this.fresh(this.B);
    }
  }

  private emit(out: BatchArrays[], b: BatchArrays): void {
    this.stats.batches++;
    out.push(b);
  }

  /** New [rows*T] columns, already holding padding, so only document tokens are written. */
  private fresh(rows: number): BatchArrays {
    const n = rows * this.T;
    const reused = rows === this.B ? this.opts.recycler?.take() : undefined;
    if (reused) {
      reused.input_ids.fill(this.opts.padId);
      reused.labels.fill(IGNORE_INDEX);
      reused.position_ids.fill(0);
      reused.document_ids.fill(PAD_DOCUMENT);
      return reused;
    }
    return {
      input_ids: new Int32Array(n).fill(this.opts.padId),
      labels: new Int32Array(n).fill(IGNORE_INDEX),
      position_ids: new Int32Array(n),
      document_ids: new Int32Array(n).fill(PAD_DOCUMENT),
    };
  }
}
