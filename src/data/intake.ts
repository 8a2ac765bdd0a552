// The packer's document intake: every document the packer receives passes through here once,
// in order, and is hashed on the way (the packed cache is keyed by what reaches the packer, so
// a change anywhere upstream, in any node, misses it).
//
// Spilling. The packer cannot tokenize before its tokenizer arrives, and in the usual graph the
// tokenizer comes from token discovery, which reads the same document stream first. If the
// packer just waited, a fan-out of that stream would hold discovery back once its buffer filled
// (the slowest consumer sets the pace) and the run would deadlock. So while the tokenizer is
// pending, the intake drains documents into a run-local spill file (JSON Lines, bounded memory)
// and replays it when packing starts. A cache lookup that must know the hash of every document
// first drains the whole input into the same file (drainAll), so a miss can still pack them.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import type { Document } from './items.ts';
import { readLines } from './lines.ts';

/** What identifies the documents of a stream: how many, and sha256 over what shapes their tokens. */
export interface DocsDigest {
  count: number;
  sha256: string;
}

export interface Intake {
  /** All documents in order: the spilled ones, then the rest of the input. Call once. */
  docs(): AsyncGenerator<Document>;
  /** Spills the rest of the input and returns the digest of every document (then docs() replays them all). */
  drainAll(): Promise<DocsDigest>;
  /** The digest of every document, once the input has ended (docs() or drainAll() read it to the end); else null. */
  digest(): DocsDigest | null;
  /** Releases the input without reading the rest (cache hit) and removes the spill. */
  close(): Promise<void>;
  /** Documents written to the spill file. */
  readonly spilled: number;
}

/**
 * Hashes the fields that decide a document's tokens and split (text or scored segments, template
 * flag, split), never its id or source: moving a file does not change the batches.
 */
function hashDoc(h: Hash, d: Document): void {
  // Framed by lengths rather than JSON.stringify: the main thread hashes every document, and encoding
  // a plain text as JSON first cost as much as the hash itself.
  if (d.segments) {
    h.update(`${d.split}\0${d.templated ? 1 : 0}\0s\0`);
    h.update(JSON.stringify(d.segments));
  } else {
    h.update(`${d.split}\0${d.templated ? 1 : 0}\0t${d.text.length}\0`);
    h.update(d.text);
  }
  h.update('\n');
}

/**
 * `spillFile`: where documents wait (run-local). `ready`: the tokenizer; `spillWhilePending`:
 * drain into the spill until it comes (the packer's `spill` param).
 */
export function startIntake(input: AsyncIterable<Document>, spillFile: string, ready: Promise<unknown>, spillWhilePending: boolean): Intake {
  const it = input[Symbol.asyncIterator]();
  const hash = createHash('sha256');
  let count = 0;
  let ended = false;
  let digest: DocsDigest | null = null;
  let stopped = false;
  let spilled = 0;
  let out: WriteStream | null = null;
  let opened = false;
  ready.then(
    () => (stopped = true),
    () => (stopped = true),
  );

  /** The one place documents leave the input: each is counted and hashed exactly once, in order. */
  const take = async (): Promise<Document | null> => {
    if (ended) return null;
    const r = await it.next();
    if (r.done) {
      ended = true;
      digest = { count, sha256: hash.digest('hex') };
      return null;
    }
    count++;
    hashDoc(hash, r.value);
    return r.value;
  };
  const spillWhile = async (go: () => boolean): Promise<void> => {
    if (!out) {
      mkdirSync(path.dirname(spillFile), { recursive: true });
      // Truncate first: a spill left by a killed leg of this run folder is not ours.
      out = createWriteStream(spillFile, { flags: opened ? 'a' : 'w' });
      opened = true;
    }
    while (go()) {
      const d = await take();
      if (!d) break;
      spilled++;
      if (!out.write(JSON.stringify(d) + '\n')) await once(out, 'drain');
    }
  };
  const closeSpill = async (): Promise<void> => {
    const s = out;
    out = null;
    if (!s) return;
    s.end();
    await once(s, 'close').catch(() => {});
  };

  const pending = (async () => {
    if (!spillWhilePending) return;
    // A tokenizer that is already there (or comes within a tick) means no spill at all.
    const early = await Promise.race([ready.then(() => true, () => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
    if (early || stopped) return;
    await spillWhile(() => !stopped);
  })();
  // Surface a spill failure through docs()/drainAll()/close(), not as an unhandled rejection.
  pending.catch(() => {});

  const removeSpill = async () => {
    await closeSpill();
    await rm(spillFile, { force: true });
  };

  return {
    get spilled() {
      return spilled;
    },
    digest: () => digest,
    async drainAll() {
      await pending;
      await spillWhile(() => true);
      await closeSpill();
      return digest!;
    },
    async *docs() {
      await pending;
      await closeSpill();
      try {
        if (spilled > 0) {
          for await (const l of readLines(createReadStream(spillFile, { highWaterMark: 1 << 20 }), Number.MAX_SAFE_INTEGER)) {
            if (l.text) yield JSON.parse(l.text) as Document;
          }
        }
        for (let d = await take(); d; d = await take()) yield d;
      } finally {
        if (!ended) await it.return?.();
        await removeSpill();
      }
    },
    async close() {
      await pending.catch(() => {});
      if (!ended) await it.return?.();
      await removeSpill();
    },
  };
}
