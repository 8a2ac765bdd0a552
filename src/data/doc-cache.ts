// A re-readable document stream. Each `[Symbol.asyncIterator]()` call is one independent
// pass, so two consumers (a discovery pass, then packing) each read the whole corpus.
// With a cache file, the first pass that runs to the end also writes every document there
// (JSON Lines, temp file + rename, so only a complete pass is ever replayed) and later passes
// replay it instead of parsing the sources again. The file's name may come from a function, so the
// caller can name it after what it caches (the corpus reader: its fingerprint), and a cache
// written from other files or params, e.g. by an earlier leg of a resumed run, is never replayed.
import { createReadStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import type { Document } from './items.ts';
import { createAtomicWriteStream } from '../io/atomic.ts';
import { readLines } from './lines.ts';

export interface PassInfo {
  /** 1 for the first pass started, 2 for the next, ... */
  pass: number;
  /** True when this pass replays the cache. */
  replay: boolean;
}

export function replayable(
  makePass: (info: PassInfo) => AsyncIterable<Document>,
  cacheFile: (() => Promise<string | null>) | string | null,
  onPass?: (info: PassInfo) => void,
): AsyncIterable<Document> {
  let passes = 0;
  let writing = false;
  const open = async function* (pass: number): AsyncGenerator<Document> {
    const file = typeof cacheFile === 'function' ? await cacheFile() : cacheFile;
    const info: PassInfo = { pass, replay: file !== null && existsSync(file) };
    onPass?.(info);
    if (info.replay) return yield* replay(file!);
    const source = makePass(info);
    // Runs without an await from the check to the flag: two passes never both write.
    if (!file || writing) return yield* source;
    writing = true;
    yield* writeThrough(source, file, () => (writing = false));
  };
  return {
    [Symbol.asyncIterator]() {
      return open(++passes);
    },
  };
}

async function* writeThrough(source: AsyncIterable<Document>, file: string, done: () => void): AsyncGenerator<Document> {
  const sink = createAtomicWriteStream(file, { mkdir: true });
  const out = sink.stream;
  let complete = false;
  try {
    for await (const doc of source) {
      // Respect the file's own backpressure: a slow disk must not fill memory.
      if (!out.write(JSON.stringify(doc) + '\n')) await once(out, 'drain');
      yield doc;
    }
    complete = true;
  } finally {
    if (complete) await sink.commit();
    else await sink.abort();
    done();
  }
}

async function* replay(file: string): AsyncGenerator<Document> {
  for await (const l of readLines(createReadStream(file, { highWaterMark: 1 << 20 }), Number.MAX_SAFE_INTEGER)) {
    if (l.text) yield JSON.parse(l.text) as Document;
  }
}
