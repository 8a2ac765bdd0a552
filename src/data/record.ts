// What the format readers yield: a document (before its split is decided) or a reject.
import type { Segment } from './items.ts';

export interface DocRecord {
  kind: 'doc';
  id: string;
  text: string;
  segments?: Segment[];
  templated?: boolean;
  source: { file: string; line?: number; row?: number };
}

export interface RejectRecord {
  kind: 'reject';
  /** file:line or file#row, the prefix of the message. */
  where: string;
  file: string;
  line?: number;
  row?: number;
  reason: string;
  /** The offending input, truncated, for the rejects file. */
  raw?: string;
}

export type ReadRecord = DocRecord | RejectRecord;

const RAW_KEEP = 1024;

export function rejectAt(file: string, pos: { line?: number; row?: number }, reason: string, raw?: string | Buffer): RejectRecord {
  const where = pos.line !== undefined ? `${file}:${pos.line}` : pos.row !== undefined ? `${file}#${pos.row}` : file;
  const rawText = raw === undefined ? undefined : typeof raw === 'string' ? raw.slice(0, RAW_KEEP) : raw.toString('base64');
  return { kind: 'reject', where, file, ...pos, reason, raw: rawText };
}

/**
 * Reads a dotted path ('meta.body.text') from a parsed record. A key that itself contains
 * dots is found too: at each level the longest matching key wins.
 */
export function getPath(obj: unknown, dotted: string): unknown {
  const parts = dotted.split('.');
  let cur: unknown = obj;
  let i = 0;
  while (i < parts.length) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const rec = cur as Record<string, unknown>;
    let found = false;
    for (let j = parts.length; j > i; j--) {
      const key = parts.slice(i, j).join('.');
      if (Object.prototype.hasOwnProperty.call(rec, key)) {
        cur = rec[key];
        i = j;
        found = true;
        break;
      }
    }
    if (!found) return undefined;
  }
  return cur;
}
