// Corpus files: glob expansion, format detection, gzip-aware byte streams, fingerprints.
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import path from 'node:path';
import type { Readable } from 'node:stream';
import fg from 'fast-glob';
import { CorpusSourceInvalid } from '../errors.ts';

export type CorpusFormat = 'text' | 'jsonl' | 'chat' | 'arrow' | 'parquet';

export interface SourceFile {
  /** As matched by the glob: relative to `cwd` when the pattern was relative. Used in ids and messages. */
  file: string;
  /** Absolute path. */
  abs: string;
  size: number;
  mtimeMs: number;
}

/**
 * Expands the patterns (fast-glob syntax; plain paths work too) into a sorted, de-duplicated
 * file list, so ids, splits and packing order do not depend on directory listing order.
 */
export async function expandSources(patterns: string[], cwd: string): Promise<SourceFile[]> {
  const seen = new Set<string>();
  const out: SourceFile[] = [];
  for (const pattern of patterns) {
    // A literal path with glob characters in its name would be misread as a pattern.
    const literal = path.resolve(cwd, pattern);
    const matches = (await isFile(literal)) ? [pattern] : (await fg(pattern, { cwd, onlyFiles: true, dot: false })).sort();
    if (matches.length === 0) throw new CorpusSourceInvalid(`no file matches '${pattern}' (relative to ${cwd})`);
    for (const file of matches) {
      const abs = path.resolve(cwd, file);
      if (seen.has(abs)) continue;
      seen.add(abs);
      const st = await stat(abs);
      out.push({ file, abs, size: st.size, mtimeMs: st.mtimeMs });
    }
  }
  return out;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Format from the file name (a trailing .gz is ignored). 'chat' is never guessed: it is JSONL. */
export function formatOf(file: string): CorpusFormat {
  const name = file.toLowerCase().replace(/\.gz$/, '');
  if (/\.(jsonl|ndjson|json)$/.test(name)) return 'jsonl';
  if (/\.(arrow|arrows|ipc|feather)$/.test(name)) return 'arrow';
  if (/\.parquet$/.test(name)) return 'parquet';
  if (/\.(txt|text|md|markdown)$/.test(name)) return 'text';
  throw new CorpusSourceInvalid(`${file}: cannot tell the format from the extension; set 'format'`);
}

/** True when the file starts with the gzip magic bytes 1f 8b (whatever its name says). */
export async function isGzip(abs: string): Promise<boolean> {
  const fh = await open(abs, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** A stream of the file's bytes, gunzipped when the file is gzip (by magic, so a misnamed file works too). */
export async function openBytes(src: SourceFile, highWaterMark = 1 << 18): Promise<Readable> {
  const raw = createReadStream(src.abs, { highWaterMark });
  if (!(await isGzip(src.abs))) return raw;
  const gunzip = createGunzip({ chunkSize: 1 << 16 });
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

export interface Fingerprint {
  /** sha256 hex over the file list (path, size, mtime or content hash) and the reader's params. */
  hash: string;
  files: Array<{ file: string; size: number; mtimeMs: number; sha256?: string }>;
}

/**
 * Identifies a corpus read: 'stat' mode uses path, size and mtime (cheap); 'content' mode
 * hashes every byte (one extra read of the corpus, immune to touch/copy).
 */
export async function fingerprint(files: SourceFile[], params: unknown, mode: 'stat' | 'content'): Promise<Fingerprint> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 1, params }));
  const list: Fingerprint['files'] = [];
  for (const f of files) {
    const entry: Fingerprint['files'][number] = { file: f.file, size: f.size, mtimeMs: f.mtimeMs };
    if (mode === 'content') entry.sha256 = await hashFile(f.abs);
    list.push(entry);
    h.update(JSON.stringify(mode === 'content' ? [f.file, f.size, entry.sha256] : [f.file, f.size, f.mtimeMs]));
  }
  return { hash: h.digest('hex'), files: list };
}

async function hashFile(abs: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Reads a small whole file as text (templates, configs). */
export async function readText(abs: string): Promise<string> {
  return readFile(abs, 'utf8');
}
