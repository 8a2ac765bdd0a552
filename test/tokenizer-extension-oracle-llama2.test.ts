// Acceptance: the llama2 tokenizer extended in both modes loads in the Rust tokenizers and encodes a
// corpus (Brown text + planted tokens) to exactly the ids tokenizers.js gives.
import { oracleSuite } from './fixtures/tokens/oracle-suite.ts';

oracleSuite('llama2');
