// Errors of the bench harness (not part of the library: src/errors.ts holds those).
import { TokenpipeError } from '../src/errors.ts';

/** A bench was started with options it cannot use (unknown shape or mode, non-numeric count). */
export class BenchOptionInvalid extends TokenpipeError {
  constructor(detail: string) {
    super('BENCH_OPTION_INVALID', `bench: ${detail}`);
  }
}
