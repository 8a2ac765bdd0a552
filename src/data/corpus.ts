// Reading a corpus: files → format readers → train/eval split → (limit) → shuffle buffer.
// Everything streams: memory is one chunk per open file plus the shuffle buffer.
import path from 'node:path';
import { z } from 'zod';
import { CorpusRecordInvalid, CorpusSourceInvalid } from '../errors.ts';
import type { Document } from './items.ts';
import { expandSources, fingerprint, formatOf, type CorpusFormat, type Fingerprint, type SourceFile } from './sources.ts';
import { readTextFile } from './readers/text.ts';
import { readJsonlFile } from './readers/jsonl.ts';
import { readArrowFile, readParquetFile } from './readers/table.ts';
import { ChatRenderer, loadChatTemplate } from './chat.ts';
import { splitOf } from './split.ts';
import { shuffleBuffer } from './shuffle.ts';
import type { ReadRecord, RejectRecord } from './record.ts';

// Plain strings for paths here: in a pipeline file they are relative to the file, which is the
// node's business (nodes/corpus-reader.ts declares them with pathParam()).
export const CorpusParams = z
  .object({
    paths: z.union([z.string(), z.array(z.string()).min(1)]).describe('files or globs (fast-glob), relative to cwd'),
    format: z.enum(['auto', 'text', 'jsonl', 'chat', 'arrow', 'parquet']).default('auto').describe("'auto' decides by extension; chat JSONL must be named"),
    textMode: z.enum(['file', 'paragraph', 'line']).default('file').describe('text files: one document per file, per blank-line-separated paragraph, or per line'),
    textField: z.string().default('text').describe('JSONL/Arrow/Parquet: dotted path of the text'),
    idField: z.string().optional().describe('dotted path of a document id (default: file:line or file#row)'),
    messagesField: z.string().default('messages').describe('chat: dotted path of the messages array'),
    chatTemplate: z.string().optional().describe('chat: inline Jinja template or a .jinja file'),
    modelDir: z.string().min(1).optional().describe('chat: model folder with chat_template.jinja or tokenizer_config.json'),
    templateName: z.string().optional().describe('chat: name when the config holds several templates'),
    lossOn: z.enum(['assistant', 'all']).default('assistant').describe('chat: tokens scored by the loss'),
    endOfTurn: z.array(z.string()).default([]).describe('chat: extra end-of-turn markers scored after a reply'),
    chatRoles: z.array(z.string().min(1)).default([])
      .describe('chat: roles accepted besides system, user, assistant, tool and those the template names (a record with another role is rejected)'),
    evalFraction: z.number().min(0).max(1).default(0).describe('share of documents sent to eval, by hash'),
    splitBy: z.enum(['text', 'id']).default('text').describe('what the split hash reads'),
    shuffleBuffer: z.number().int().min(0).default(0).describe('documents held for a seeded shuffle (0: file order)'),
    seed: z.number().int().optional().describe("split and shuffle seed (default: the run's seed)"),
    limit: z.number().int().positive().optional().describe('stop after this many documents'),
    strict: z.boolean().default(false).describe('stop at the first malformed record instead of rejecting it'),
    maxLineBytes: z.number().int().positive().default(64 * 2 ** 20).describe('longer lines are rejected'),
    cache: z.boolean().default(false).describe('write documents once to a run-local cache and replay it on later passes'),
    fingerprint: z.enum(['stat', 'content']).default('stat').describe('what identifies the corpus for downstream caches'),
    cwd: z.string().min(1).default('.').describe('base folder of relative paths and globs'),
  })
  .strict();
export type CorpusParams = z.output<typeof CorpusParams>;

export interface CorpusStats {
  files: number;
  documents: number;
  train: number;
  eval: number;
  rejected: number;
}

export interface CorpusHooks {
  seed: number;
  /** Called for each malformed record when not strict. */
  onReject?: (r: RejectRecord) => void;
  signal?: AbortSignal;
  stats?: CorpusStats;
}

export function newStats(): CorpusStats {
  return { files: 0, documents: 0, train: 0, eval: 0, rejected: 0 };
}

function patterns(p: CorpusParams): string[] {
  return Array.isArray(p.paths) ? p.paths : [p.paths];
}

export function baseDir(p: CorpusParams): string {
  return path.resolve(p.cwd);
}

/** The params that change what documents come out (the fingerprint covers these, not `cache`/`strict`). */
function contentParams(p: CorpusParams, seed: number): unknown {
  const { cache: _c, strict: _s, maxLineBytes: _m, cwd: _w, fingerprint: _f, ...rest } = p;
  return { ...rest, seed: p.seed ?? seed };
}

export async function corpusFingerprint(p: CorpusParams, seed: number): Promise<Fingerprint> {
  const files = await expandSources(patterns(p), baseDir(p));
  return fingerprint(files, contentParams(p, seed), p.fingerprint);
}

/** The files the corpus params match, absolute. */
export async function corpusFiles(p: CorpusParams): Promise<string[]> {
  return (await expandSources(patterns(p), baseDir(p))).map((f) => f.abs);
}

/** One pass over the corpus. Each call reads the files again. */
export async function* readCorpus(p: CorpusParams, hooks: CorpusHooks): AsyncGenerator<Document> {
  const seed = p.seed ?? hooks.seed;
  const stats = hooks.stats ?? newStats();
  const cwd = baseDir(p);
  const files = await expandSources(patterns(p), cwd);
  let renderer: ChatRenderer | undefined;
  if (p.format === 'chat') {
    const loaded = await loadChatTemplate({ template: p.chatTemplate, modelDir: p.modelDir, templateName: p.templateName }, cwd);
    renderer = new ChatRenderer(loaded, p.lossOn, p.endOfTurn, p.chatRoles);
  }
  const docs = async function* (): AsyncGenerator<Document> {
    let n = 0;
    for (const src of files) {
      stats.files++;
      for await (const r of readFile(src, p, renderer)) {
        if (hooks.signal?.aborted) return;
        if (r.kind === 'reject') {
          stats.rejected++;
          if (p.strict) throw new CorpusRecordInvalid(r.where, r.reason);
          hooks.onReject?.(r);
          continue;
        }
        const split = splitOf(r, p.evalFraction, seed, p.splitBy);
        const doc: Document = { id: r.id, text: r.text, split, source: r.source };
        if (r.segments) doc.segments = r.segments;
        if (r.templated) doc.templated = true;
        stats.documents++;
        stats[split]++;
        yield doc;
        if (p.limit !== undefined && ++n >= p.limit) return;
      }
    }
  };
  yield* shuffleBuffer(docs(), p.shuffleBuffer, seed);
}

function readFile(src: SourceFile, p: CorpusParams, renderer: ChatRenderer | undefined): AsyncGenerator<ReadRecord> {
  const format: CorpusFormat = p.format === 'auto' ? formatOf(src.file) : p.format;
  switch (format) {
    case 'text':
      return readTextFile(src, p.textMode, p.maxLineBytes);
    case 'jsonl':
      return readJsonlFile(src, { textField: p.textField, idField: p.idField, maxLineBytes: p.maxLineBytes });
    case 'chat':
      if (!renderer) throw new CorpusSourceInvalid(`${src.file}: chat format needs format: chat on the reader`);
      return readJsonlFile(src, {
        textField: p.textField,
        idField: p.idField,
        maxLineBytes: p.maxLineBytes,
        chat: { renderer, messagesField: p.messagesField },
      });
    case 'arrow':
      return readArrowFile(src, { textField: p.textField, idField: p.idField });
    case 'parquet':
      return readParquetFile(src, { textField: p.textField, idField: p.idField });
  }
}
