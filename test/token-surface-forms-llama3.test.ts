// Acceptance of issue 23 (surface forms) and issue 21 (no duplicate tokens) on the llama3_1 tokenizer.
import { formsSuite } from './fixtures/tokens/forms-suite.ts';

formsSuite('llama3_1');
