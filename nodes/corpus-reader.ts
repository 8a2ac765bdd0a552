// corpus-reader: text, JSONL, chat JSONL, Arrow IPC and Parquet files (globs, gzip) → documents.
//
// Outputs
//   docs         stream of Document. Re-readable: every iterator the executor opens on it is
//                a full, independent pass (with `cache: true`, later passes replay a
//                run-local copy written by the first complete pass).
//   fingerprint  value: { hash, files } identifying the corpus and the params that shape
//                its documents; the batch packer keys its on-disk cache with it.
// A malformed record is counted, reported as file:line (or file#row) in an event and in
// <runDir>/rejects/<node>.jsonl, and skipped; with `strict: true` it stops the run with
// CorpusRecordInvalid carrying the same message.
import { mkdirSync } from 'node:fs';
import { appendSync } from '../src/io/append.ts';
import path from 'node:path';
import { z } from 'zod';
import { defineNode } from '../src/pipeline/node.ts';
import { stream, value } from '../src/pipeline/kinds.ts';
import { pathParam, runPath } from '../src/pipeline/schema.ts';
import { CorpusParams, corpusFiles, corpusFingerprint, newStats, readCorpus } from '../src/data/corpus.ts';
import { expandSources } from '../src/data/sources.ts';
import { CorpusSourceInvalid } from '../src/errors.ts';
import { replayable } from '../src/data/doc-cache.ts';
import type { RejectRecord } from '../src/data/record.ts';
import { emit } from './_events.ts';
import { CORPUS_FINGERPRINT, DOCUMENT } from './_kinds.ts';

/**
 * Checked before the run: what a path or glob matches is not all empty files (an empty corpus
 * otherwise surfaced only as "the eval input produced no batches", naming no file).
 */
async function notAllEmpty(abs: string): Promise<string | undefined> {
  const files = await expandSources([abs], '/');
  if (files.length > 0 && files.every((f) => f.size === 0)) return `${files.map((f) => f.abs).join(', ')}: empty file${files.length > 1 ? 's' : ''}: the corpus would have no documents`;
  return undefined;
}

/** A file or glob, relative to `cwd` (the node resolves it: ids and messages keep the relative name). */
const Source = pathParam({ mustExist: 'glob', relativeTo: 'cwd', check: notAllEmpty });

/** The reader's options, with its folders relative to the pipeline file, checked before the run starts. */
const Params = CorpusParams.extend({
  paths: z.union([Source, z.array(Source).min(1)]).describe('files or globs (fast-glob), relative to cwd; each must match a file'),
  modelDir: pathParam({ mustExist: 'dir' }).optional().describe('chat: model folder with chat_template.jinja or tokenizer_config.json'),
  cwd: pathParam({ default: '.', mustExist: 'dir', fingerprint: false }).describe("base folder of relative paths and globs (in a pipeline file: the file's folder)"),
}).strict();

/** Reject events beyond this many per pass are only counted (the file keeps all of them). */
const MAX_REJECT_EVENTS = 100;

export default defineNode({
  name: 'corpus-reader',
  description: 'Reads text, JSONL, chat JSONL, Arrow IPC and Parquet corpora (globs, gzip) into documents with a deterministic train/eval split.',
  params: Params,
  inputs: {},
  outputs: {
    docs: stream(DOCUMENT, { description: 'documents; each iterator is a full pass' }),
    fingerprint: value(CORPUS_FINGERPRINT, { description: '{hash, files}: identifies the corpus for caches' }),
  },
  placement: 'main',
  runFiles: (name) => [`rejects/${name}.jsonl`, 'cache'],
  canReject: true,
  run(_inputs, ctx) {
    const p = ctx.params;
    const rejectsFile = path.join(ctx.runDir, 'rejects', `${ctx.name}.jsonl`);
    // Computed once, when first needed (in 'content' mode it reads every byte).
    let fp: ReturnType<typeof corpusFingerprint> | undefined;
    const fingerprint = () => (fp ??= corpusFingerprint(p, ctx.seed));
    // Named after the fingerprint (files and reading params): a run folder resumed after the
    // corpus changed reads the new files instead of replaying the old documents.
    const cacheFile = p.cache ? async () => path.join(ctx.runDir, 'cache', `${ctx.name}-${(await fingerprint()).hash.slice(0, 16)}.docs.jsonl`) : null;
    const docs = replayable(
      (info) => {
        const stats = newStats();
        let events = 0;
        const onReject = (r: RejectRecord) => {
          // Later passes meet the same records again: report them once.
          if (info.pass !== 1) return;
          mkdirSync(path.dirname(rejectsFile), { recursive: true });
          appendSync(rejectsFile, JSON.stringify({ node: ctx.name, where: r.where, file: r.file, line: r.line, row: r.row, reason: r.reason, raw: r.raw }) + '\n');
          if (events++ < MAX_REJECT_EVENTS) emit(ctx, { type: 'reject', node: ctx.name, message: `${r.where}: ${r.reason}`, file: r.file, line: r.line, row: r.row });
        };
        return (async function* () {
          yield* readCorpus(p, { seed: ctx.seed, onReject, signal: ctx.signal, stats });
          // Nothing downstream can work on no documents: say which files, before any training.
          if (stats.documents === 0 && !ctx.signal.aborted) {
            const rejected = stats.rejected > 0 ? `; ${stats.rejected} record(s) rejected, see ${rejectsFile}` : '';
            throw new CorpusSourceInvalid(`the corpus has no documents: ${(await corpusFiles(p)).join(', ')}${rejected}`);
          }
          emit(ctx, { type: 'corpus-summary', node: ctx.name, pass: info.pass, ...stats, rejectsFile: stats.rejected > 0 ? rejectsFile : undefined });
          // A run that goes on past bad records says so at its end (pipe run prints 'summary' events).
          if (stats.rejected > 0) emit(ctx, { type: 'summary', node: ctx.name, text: `${ctx.name}: ${stats.rejected} record(s) rejected (file:line and reason in ${rejectsFile})` });
        })();
      },
      cacheFile,
      (info) => emit(ctx, { type: 'corpus-pass', node: ctx.name, pass: info.pass, replay: info.replay }),
    );
    return {
      docs,
      fingerprint: (async function* () {
        yield await fingerprint();
      })(),
    };
  },
});
