// Errors of the tools in this folder (not part of the library: src/errors.ts holds those).
import { TokenpipeError } from '../src/errors.ts';

/** tools/random-model.ts cannot build what was asked: unknown shape, bad override, tokenizer/config disagreement. */
export class RandomModelInvalid extends TokenpipeError {
  constructor(detail: string) {
    super('RANDOM_MODEL_INVALID', `random model: ${detail}`);
  }
}
