// A re-readable document stream. Each `[Symbol.asyncIterator]()` call is one independent
// pass, so two consumers (a discovery pass, then packing) each read the whole corpus.
// With a cache file, the first pass that runs to the end also writes every document there
// (JSON Lines, temp file + rename, so only a complete pass is ever replayed) and later passes
// replay it instead of parsing the sources again.
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
  cacheFile: string | null,
  onPass?: (info: PassInfo) => void,
): AsyncIterable<Document> {
  let passes = 0;
  let writing = false;
  return {
    [Symbol.asyncIterator]() {
      const info: PassInfo = { pass: ++passes, replay: cacheFile !== null && existsSync(cacheFile) };
      onPass?.(info);
      if (info.replay) return replay(cacheFile!)[Symbol.asyncIterator]();
      const source = makePass(info);
      if (!cacheFile || writing) return source[Symbol.asyncIterator]();
      writing = true;
      return writeThrough(source, cacheFile, () => (writing = false))[Symbol.asyncIterator]();
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
