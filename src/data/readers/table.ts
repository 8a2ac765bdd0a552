// Columnar corpora: Arrow IPC (file or stream, batch by batch) and Parquet (row group by
// row group). Only the column holding the text (and the id column) is materialised.
import { open } from 'node:fs/promises';
import { RecordBatchReader, type RecordBatch } from 'apache-arrow';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { CorpusSourceInvalid } from '../../errors.ts';
import { isGzip, openBytes, type SourceFile } from '../sources.ts';
import { getPath, rejectAt, type ReadRecord } from '../record.ts';

export interface TableOptions {
  textField: string;
  idField?: string;
}

/** Splits a dotted path into the top-level column (longest matching name) and the rest. */
function splitColumn(columns: string[], dotted: string, file: string): [string, string | null] {
  const parts = dotted.split('.');
  for (let j = parts.length; j > 0; j--) {
    const name = parts.slice(0, j).join('.');
    if (columns.includes(name)) return [name, j < parts.length ? parts.slice(j).join('.') : null];
  }
  throw new CorpusSourceInvalid(`${file}: no column '${parts[0]}' for field '${dotted}' (columns: ${columns.join(', ')})`);
}

function plain(v: unknown): unknown {
  // Arrow struct rows and nested vectors are proxies: turn them into plain values once.
  return v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function' ? (v as { toJSON(): unknown }).toJSON() : v;
}

function toRecord(src: SourceFile, row: number, textV: unknown, idV: unknown, opts: TableOptions): ReadRecord | null {
  const pos = { row };
  if (textV === undefined || textV === null) return rejectAt(src.file, pos, `missing text field '${opts.textField}'`);
  if (typeof textV !== 'string') return rejectAt(src.file, pos, `text field '${opts.textField}' is a ${typeof textV}, not a string`);
  if (textV.length === 0) return null;
  const id = idV === undefined || idV === null ? `${src.file}#${row}` : String(idV);
  return { kind: 'doc', id, text: textV, source: { file: src.file, row } };
}

export async function* readArrowFile(src: SourceFile, opts: TableOptions): AsyncGenerator<ReadRecord> {
  // A FileHandle gives random access, so the IPC *file* format is read batch by batch too;
  // gzip allows only a stream (a gzipped IPC file is then buffered whole by arrow).
  const gz = await isGzip(src.abs);
  const fh = gz ? null : await open(src.abs, 'r');
  try {
    const reader = (await RecordBatchReader.from((fh ?? (await openBytes(src))) as never)) as unknown as { open(): Promise<unknown> } & AsyncIterable<RecordBatch>;
    await reader.open();
    let row = 0;
    let cols: { text: [string, string | null]; id: [string, string | null] | null } | null = null;
    for await (const batch of reader) {
      const names = batch.schema.fields.map((f) => f.name);
      cols ??= { text: splitColumn(names, opts.textField, src.file), id: opts.idField ? splitColumn(names, opts.idField, src.file) : null };
      const textCol = batch.getChild(cols.text[0])!;
      const idCol = cols.id ? batch.getChild(cols.id[0]) : null;
      for (let i = 0; i < batch.numRows; i++, row++) {
        const tv = cols.text[1] ? getPath(plain(textCol.get(i)), cols.text[1]) : textCol.get(i);
        const iv = idCol && cols.id ? (cols.id[1] ? getPath(plain(idCol.get(i)), cols.id[1]) : idCol.get(i)) : undefined;
        const r = toRecord(src, row, tv, iv, opts);
        if (r) yield r;
      }
    }
  } catch (e) {
    if (e instanceof CorpusSourceInvalid) throw e;
    throw new CorpusSourceInvalid(`${src.file}: cannot read as Arrow IPC: ${(e as Error).message}`, { cause: e });
  } finally {
    await fh?.close();
  }
}

export async function* readParquetFile(src: SourceFile, opts: TableOptions): AsyncGenerator<ReadRecord> {
  if (await isGzip(src.abs)) throw new CorpusSourceInvalid(`${src.file}: gzipped Parquet is not supported (Parquet compresses internally)`);
  const file = await asyncBufferFromFile(src.abs);
  let meta;
  try {
    meta = await parquetMetadataAsync(file);
  } catch (e) {
    throw new CorpusSourceInvalid(`${src.file}: cannot read as Parquet: ${(e as Error).message}`, { cause: e });
  }
  const names = parquetSchema(meta).children.map((c) => c.element.name);
  const text = splitColumn(names, opts.textField, src.file);
  const id = opts.idField ? splitColumn(names, opts.idField, src.file) : null;
  const columns = [...new Set([text[0], ...(id ? [id[0]] : [])])];
  let rowStart = 0;
  for (const rg of meta.row_groups) {
    const rowEnd = rowStart + Number(rg.num_rows);
    // One row group at a time bounds memory by the largest row group, not the file.
    const rows = (await parquetReadObjects({ file, metadata: meta, columns, rowStart, rowEnd })) as Array<Record<string, unknown>>;
    for (let i = 0; i < rows.length; i++) {
      const tv = text[1] ? getPath(rows[i][text[0]], text[1]) : rows[i][text[0]];
      const iv = id ? (id[1] ? getPath(rows[i][id[0]], id[1]) : rows[i][id[0]]) : undefined;
      const r = toRecord(src, rowStart + i, tv, iv, opts);
      if (r) yield r;
    }
    rowStart = rowEnd;
  }
}
