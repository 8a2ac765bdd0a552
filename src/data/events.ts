// The events of the data library and its nodes (corpus reader, packer). Declared here, next to
// the code they describe, as plain types: nodes/_events.ts joins them with the framework's and the
// other libraries' events into the one union of a run's events.
import type { CorpusStats } from './corpus.ts';
import type { PackerStatus } from './packer.ts';

export type DataEvent =
  /** A corpus reader's pass begins (`replay`: read back from the run-local copy of the first pass). */
  | { type: 'corpus-pass'; pass: number; replay: boolean }
  /** A corpus reader's pass ended: files, documents per split, records rejected. */
  | ({ type: 'corpus-summary'; pass: number; rejectsFile?: string } & CorpusStats)
  /** A malformed corpus record, skipped; the message starts with its file:line (or file#row). */
  | { type: 'reject'; message: string; file: string; line?: number; row?: number }
  /** The packer's batches are complete: cache hit or built, where, and the packing statistics. */
  | ({ type: 'pack-summary' } & PackerStatus)
  | { type: 'warning'; message: string };
