// Plain text files: one document per file, per blank-line-separated paragraph, or per line.
import { openBytes, type SourceFile } from '../sources.ts';
import { readLines } from '../lines.ts';
import { rejectAt, type ReadRecord } from '../record.ts';

export type TextMode = 'file' | 'paragraph' | 'line';

export async function* readTextFile(src: SourceFile, mode: TextMode, maxLineBytes: number): AsyncGenerator<ReadRecord> {
  const lines = readLines(await openBytes(src), maxLineBytes);
  // 'file' mode holds one whole file: it is one document by definition.
  let buf: string[] = [];
  let startLine = 0;
  const flush = (): ReadRecord | null => {
    const text = buf.join('\n');
    buf = [];
    if (text.trim().length === 0) return null;
    const id = mode === 'file' ? src.file : `${src.file}:${startLine}`;
    return { kind: 'doc', id, text, source: mode === 'file' ? { file: src.file } : { file: src.file, line: startLine } };
  };
  for await (const l of lines) {
    if (l.bad) {
      yield rejectAt(src.file, { line: l.lineNo }, l.bad, l.raw);
      continue;
    }
    const text = l.text!;
    if (mode === 'line') {
      if (text.trim().length > 0) yield { kind: 'doc', id: `${src.file}:${l.lineNo}`, text, source: { file: src.file, line: l.lineNo } };
      continue;
    }
    if (mode === 'paragraph' && text.trim().length === 0) {
      const doc = flush();
      if (doc) yield doc;
      continue;
    }
    if (buf.length === 0) startLine = l.lineNo;
    buf.push(text);
  }
  const doc = flush();
  if (doc) yield doc;
}
