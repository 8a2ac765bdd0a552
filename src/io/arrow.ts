// The packed-batch schema and its Arrow IPC helpers.
//
// A packed batch is one Arrow RecordBatch of B rows and four columns, each
// FixedSizeList<Int32 not null>(T) whose child is one flat Int32Array [B*T], row-major:
//
//   input_ids     token ids; padding holds the pad id
//   labels        input_ids, or -100 where the loss must not score the token: padding, the
//                 first token of every document piece in a row (so no token is predicted
//                 across a document seam; the loss shifts: target(t) = labels[t+1]), and
//                 tokens outside a document's scored segments (e.g. prompt turns of a chat)
//   position_ids  0,1,2,... restarting at every document piece; 0 on padding
//   document_ids  ordinal of the document within its split (train or eval) in packing
//                 order, equal on every token of one document (also across rows when a long
//                 document is split); -1 on padding. Attention must stay within equal ids.
//
// Schema metadata: tokenpipe.batch=1, seqLen=T, split=train|eval.
// Columns are built with makeData over the given typed arrays (no copy). IPC readers give
// views into the file bytes (apache-arrow vectorloader), so those stay alive with the batch.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  Field,
  FixedSizeList,
  Int32,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  tableFromIPC,
} from 'apache-arrow';
import { ArrowBatchInvalid } from '../errors.ts';
import { writeFileAtomic } from './atomic.ts';

export const BATCH_COLUMNS = ['input_ids', 'labels', 'position_ids', 'document_ids'] as const;
export type BatchColumn = (typeof BATCH_COLUMNS)[number];
export const IGNORE_INDEX = -100;
export const PAD_DOCUMENT = -1;
export const BATCH_FORMAT_VERSION = '1';

/** The four columns of a batch, each a flat Int32Array [B*T], row-major. */
export type BatchArrays = Record<BatchColumn, Int32Array>;

export function batchSchema(seqLen: number, split?: string): Schema {
  const meta = new Map([
    ['tokenpipe.batch', BATCH_FORMAT_VERSION],
    ['seqLen', String(seqLen)],
  ]);
  if (split) meta.set('split', split);
  return new Schema(
    BATCH_COLUMNS.map((name) => new Field(name, listType(seqLen), false)),
    meta,
  );
}

function listType(seqLen: number): FixedSizeList<Int32> {
  return new FixedSizeList(seqLen, new Field('item', new Int32(), false));
}

/** Wraps the arrays (each [B*T]) into a RecordBatch without copying them. */
export function makeBatch(arrays: BatchArrays, seqLen: number, split?: string): RecordBatch {
  const n = arrays.input_ids.length;
  if (n % seqLen !== 0) throw new ArrowBatchInvalid(`input_ids length ${n} is not a multiple of seqLen ${seqLen}`);
  const rows = n / seqLen;
  const schema = batchSchema(seqLen, split);
  const children = BATCH_COLUMNS.map((name) => {
    const values = arrays[name];
    // Arrow back-fills short columns with nulls (ensureSameLengthData): check lengths here.
    if (values.length !== n) throw new ArrowBatchInvalid(`column ${name} has ${values.length} values, expected ${n}`);
    const child = makeData({ type: new Int32(), length: n, nullCount: 0, data: values });
    return makeData({ type: listType(seqLen), length: rows, nullCount: 0, child });
  });
  const data = makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children });
  return new RecordBatch(schema, data);
}

export interface BatchView extends BatchArrays {
  /** Rows. */
  B: number;
  /** seqLen. */
  T: number;
}

/** The flat Int32Array [B*T] of each column of a packed batch (views, no copy). */
export function batchArrays(batch: RecordBatch): BatchView {
  const first = batch.schema.fields[0];
  if (!first || !(first.type instanceof FixedSizeList)) throw new ArrowBatchInvalid('not a packed batch: first column is not a FixedSizeList');
  const T = (first.type as FixedSizeList).listSize;
  const B = batch.numRows;
  const out = { B, T } as BatchView;
  for (const name of BATCH_COLUMNS) {
    const col = batch.getChild(name);
    if (!col) throw new ArrowBatchInvalid(`packed batch lacks column ${name}`);
    if (col.data.length !== 1) throw new ArrowBatchInvalid(`column ${name} has ${col.data.length} chunks, expected 1`);
    const child = col.data[0].children[0];
    // Data.slice subarrays the child's values buffer to the slice start, so values[0] is
    // always this batch's first token.
    out[name] = (child.values as Int32Array).subarray(0, B * T);
  }
  return out;
}

/** Serialises batches as one Arrow IPC *file* (random access; what Polars/pyarrow read). */
export function ipcFileBytes(batches: RecordBatch[]): Uint8Array {
  if (batches.length === 0) throw new ArrowBatchInvalid('no batches to write');
  return RecordBatchFileWriter.writeAll(batches).toUint8Array(true);
}

/**
 * The same file as the writer's chunks, in order: the column buffers stay views of the batches'
 * arrays. ipcFileBytes joins them into one new buffer, a copy of the whole shard (4 MB at the
 * packer's defaults) that the main thread made and the allocator mapped and unmapped per shard.
 */
export function ipcFileChunks(batches: RecordBatch[]): Uint8Array[] {
  if (batches.length === 0) throw new ArrowBatchInvalid('no batches to write');
  const writer = RecordBatchFileWriter.writeAll(batches);
  // apache-arrow 21.2.0 (pinned) queues written chunks in its sink's `_values` until read.
  const values = (writer as unknown as { _sink?: { _values?: unknown } })._sink?._values;
  if (Array.isArray(values) && values.every((v) => v instanceof Uint8Array)) return values as Uint8Array[];
  return [writer.toUint8Array(true)];
}

/**
 * Writes an IPC file atomically (a temp file in the same folder, then rename); returns its size and
 * the sha256 of its bytes, hashed from the chunks in memory (about 5 ms per 8 MB with the CPU's SHA
 * instructions, against the tens of ms packing a shard takes).
 */
export async function writeIpcFile(file: string, batches: RecordBatch[]): Promise<{ bytes: number; sha256: string }> {
  const chunks = ipcFileChunks(batches);
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  // No fsync: shards are a cache, and a reuse checks every shard's sha256 against the manifest.
  await writeFileAtomic(file, chunks, { fsync: false });
  return { bytes: chunks.reduce((n, c) => n + c.byteLength, 0), sha256: hash.digest('hex') };
}

/** Reads every RecordBatch of an IPC file or stream. The batches are views into the file bytes. */
export async function readIpcFile(file: string): Promise<RecordBatch[]> {
  const bytes = await readFile(file);
  try {
    return tableFromIPC(bytes).batches;
  } catch (e) {
    throw new ArrowBatchInvalid(`${file}: not a readable Arrow IPC file: ${(e as Error).message}`, { cause: e });
  }
}
