// Atomic file writes: the bytes go to a temp file beside the target (same folder, so the same
// filesystem and rename(2) is atomic), then the temp file is renamed over the target. A reader
// sees the old file or the new one, never half of one; a failed write removes its temp file.
//
// `fsync` (default on) also flushes the file before the rename and the folder after it, so the
// new name survives a power cut; caches that are checked on reuse anyway turn it off.
import { randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { asIoFailed } from '../errors.ts';

export interface AtomicWriteOptions {
  /** fsync the file before the rename and its folder after it (default true). */
  fsync?: boolean;
  /** Create the parent folder first (default false: a missing folder is an error). */
  mkdir?: boolean;
}

/** `<target>.tmp-<pid>-<random>`: unique per process and call, recognisable as a leftover. */
export function tempPath(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Writes `data` (a string is UTF-8; an array is written as consecutive chunks) to `file` atomically. */
export async function writeFileAtomic(file: string, data: string | Uint8Array | Uint8Array[], opts: AtomicWriteOptions = {}): Promise<void> {
  try {
    await writeAtomic(file, data, opts);
  } catch (e) {
    // A write error (ENOSPC, EROFS) names no path of its own: name the file.
    throw asIoFailed(e, file);
  }
}

async function writeAtomic(file: string, data: string | Uint8Array | Uint8Array[], opts: AtomicWriteOptions): Promise<void> {
  const fsync = opts.fsync ?? true;
  if (opts.mkdir) await mkdir(path.dirname(file), { recursive: true });
  const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : Array.isArray(data) ? data : [data];
  const tmp = tempPath(file);
  const fh = await open(tmp, 'wx');
  try {
    await writeChunks(fh, chunks);
    if (fsync) await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => {});
    await discard(tmp);
    throw e;
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await discard(tmp);
    throw e;
  }
  if (fsync) await syncDir(path.dirname(file));
}

/** Chunks gathered per writev: Linux takes up to 1024 (IOV_MAX) in one call. */
const GATHER = 512;
/** One write call stays well below 2 GiB (the fs limit per call). */
const MAX_WRITE = 1 << 30;

/**
 * Every chunk, in order, in as few calls as the OS allows: an Arrow shard is some 300 chunks
 * (metadata, padding, and the column buffers as views), which one writev per group takes without
 * first joining them into a copy of the whole file.
 */
async function writeChunks(fh: FileHandle, chunks: Uint8Array[]): Promise<void> {
  for (let i = 0; i < chunks.length; i += GATHER) {
    const group = chunks.slice(i, i + GATHER);
    const total = group.reduce((n, c) => n + c.byteLength, 0);
    let skip = 0;
    if (total <= MAX_WRITE && group.length > 1) skip = (await fh.writev(group)).bytesWritten;
    // One large chunk, or a short writev: the rest chunk by chunk from where it stopped.
    for (const c of group) {
      if (skip >= c.byteLength) {
        skip -= c.byteLength;
        continue;
      }
      for (let done = skip; done < c.byteLength; ) done += (await fh.write(c, done, Math.min(c.byteLength - done, MAX_WRITE))).bytesWritten;
      skip = 0;
    }
  }
}

/** The same for callers that must stay synchronous (no await between deciding and writing). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const fsync = opts.fsync ?? true;
  try {
    if (opts.mkdir) mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw asIoFailed(e, path.dirname(file), 'create folder');
  }
  const tmp = tempPath(file);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      writeFileSync(fd, data);
      if (fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* the write's own error is the one to report */
    }
    throw asIoFailed(e, file);
  }
  if (fsync) syncDirSync(path.dirname(file));
}

/** A write stream into a temp file: `commit()` renames it over `file`, `abort()` removes it. */
export interface AtomicWriteStream {
  stream: WriteStream;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * For data produced incrementally (the stream keeps its own backpressure). No fsync: streams
 * have no flush-before-close in Node 20, and the only user is a cache.
 */
export function createAtomicWriteStream(file: string, opts: Pick<AtomicWriteOptions, 'mkdir'> = {}): AtomicWriteStream {
  try {
    if (opts.mkdir) mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw asIoFailed(e, path.dirname(file), 'create folder');
  }
  const tmp = tempPath(file);
  const stream = createWriteStream(tmp);
  const finish = async () => {
    stream.end();
    await once(stream, 'close').catch(() => {});
  };
  return {
    stream,
    async commit() {
      await finish();
      try {
        await rename(tmp, file);
      } catch (e) {
        await discard(tmp);
        throw asIoFailed(e, file);
      }
    },
    async abort() {
      await finish();
      await discard(tmp);
    },
  };
}

/** Removes a temp file without masking the error that made it a leftover. */
async function discard(tmp: string): Promise<void> {
  await rm(tmp, { force: true }).catch(() => {});
}

/** Makes the rename durable; some filesystems refuse fsync on a directory, which is harmless here. */
async function syncDir(dir: string): Promise<void> {
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* best effort */
  }
}

function syncDirSync(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}
