// JSON Lines: one record per line, the text at a dotted path; chat records go through a renderer.
import { openBytes, type SourceFile } from '../sources.ts';
import { readLines } from '../lines.ts';
import { getPath, rejectAt, type ReadRecord } from '../record.ts';
import type { ChatRenderer } from '../chat.ts';

export interface JsonlOptions {
  textField: string;
  idField?: string;
  maxLineBytes: number;
  /** Set for chat JSONL: renders the record's messages instead of reading a text field. */
  chat?: { renderer: ChatRenderer; messagesField: string };
}

export async function* readJsonlFile(src: SourceFile, opts: JsonlOptions): AsyncGenerator<ReadRecord> {
  for await (const l of readLines(await openBytes(src), opts.maxLineBytes)) {
    const pos = { line: l.lineNo };
    if (l.bad) {
      yield rejectAt(src.file, pos, l.bad, l.raw);
      continue;
    }
    const line = l.text!;
    if (line.trim().length === 0) continue;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      yield rejectAt(src.file, pos, `invalid JSON (${(e as Error).message})`, line);
      continue;
    }
    const idValue = opts.idField ? getPath(rec, opts.idField) : undefined;
    const id = idValue === undefined || idValue === null ? `${src.file}:${l.lineNo}` : String(idValue);
    const source = { file: src.file, line: l.lineNo };
    if (opts.chat) {
      const messages = getPath(rec, opts.chat.messagesField);
      if (messages === undefined) {
        yield rejectAt(src.file, pos, `missing messages field '${opts.chat.messagesField}'`, line);
        continue;
      }
      const r = opts.chat.renderer.render(messages);
      if ('error' in r) yield rejectAt(src.file, pos, r.error, line);
      else yield { kind: 'doc', id, text: r.text, segments: r.segments, templated: true, source };
      continue;
    }
    const text = getPath(rec, opts.textField);
    if (text === undefined || text === null) {
      yield rejectAt(src.file, pos, `missing text field '${opts.textField}'`, line);
    } else if (typeof text !== 'string') {
      yield rejectAt(src.file, pos, `text field '${opts.textField}' is a ${Array.isArray(text) ? 'array' : typeof text}, not a string`, line);
    } else if (text.length > 0) {
      yield { kind: 'doc', id, text, source };
    }
  }
}
