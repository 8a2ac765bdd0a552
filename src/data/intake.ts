// The packer's document intake. The packer cannot tokenize before its tokenizer arrives,
// and in the usual graph the tokenizer comes from token discovery, which reads the same
// document stream first. If the packer just waited, a fan-out of that stream would hold
// discovery back once its buffer filled (the slowest consumer sets the pace) and the run
// would deadlock. So while the tokenizer is pending, the intake drains documents into a
// run-local spill file (JSON Lines, bounded memory) and replays it when packing starts.
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import type { Document } from './items.ts';
import { readLines } from './lines.ts';

export interface Intake {
  /** All documents in order: the spilled ones, then the rest of the input. Call once. */
  docs(): AsyncGenerator<Document>;
  /** Releases the input without reading the rest (cache hit) and removes the spill. */
  close(): Promise<void>;
  /** Documents written to the spill file. */
  readonly spilled: number;
}

export function startIntake(input: AsyncIterable<Document>, spillFile: string | null, ready: Promise<unknown>): Intake {
  const it = input[Symbol.asyncIterator]();
  let stopped = false;
  let ended = false;
  let spilled = 0;
  ready.then(
    () => (stopped = true),
    () => (stopped = true),
  );
  const spilling = (async () => {
    if (!spillFile) return;
    // A tokenizer that is already there (or comes within a tick) means no spill at all.
    const early = await Promise.race([ready.then(() => true, () => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
    if (early || stopped) return;
    mkdirSync(path.dirname(spillFile), { recursive: true });
    const out = createWriteStream(spillFile);
    try {
      while (!stopped) {
        const r = await it.next();
        if (r.done) {
          ended = true;
          break;
        }
        spilled++;
        if (!out.write(JSON.stringify(r.value) + '\n')) await once(out, 'drain');
      }
    } finally {
      out.end();
      await once(out, 'close').catch(() => {});
    }
  })();
  // Surface a spill failure through docs()/close(), not as an unhandled rejection.
  spilling.catch(() => {});

  const removeSpill = async () => {
    if (spillFile) await rm(spillFile, { force: true });
  };

  return {
    get spilled() {
      return spilled;
    },
    async *docs() {
      await spilling;
      try {
        if (spilled > 0) {
          for await (const l of readLines(createReadStream(spillFile!, { highWaterMark: 1 << 20 }), Number.MAX_SAFE_INTEGER)) {
            if (l.text) yield JSON.parse(l.text) as Document;
          }
        }
        while (!ended) {
          const r = await it.next();
          if (r.done) {
            ended = true;
            break;
          }
          yield r.value;
        }
      } finally {
        if (!ended) await it.return?.();
        await removeSpill();
      }
    },
    async close() {
      await spilling.catch(() => {});
      if (!ended) await it.return?.();
      await removeSpill();
    },
  };
}
