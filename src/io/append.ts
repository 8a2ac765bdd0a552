// Appending lines to a log file (train.log, metrics.jsonl, legs.jsonl, rejects): a failed append
// (a full disk's ENOSPC names no path) becomes an IoFailed naming the file.
import { appendFileSync } from 'node:fs';
import { asIoFailed } from '../errors.ts';

export function appendSync(file: string, data: string): void {
  try {
    appendFileSync(file, data);
  } catch (e) {
    throw asIoFailed(e, file, 'append to');
  }
}
