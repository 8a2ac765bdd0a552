// Acceptance (llama3_1): on a corpus with planted domain terms, mining finds them, and merge mode
// shortens the encoded corpus by at least the number of tokens the discovery report gives.
import { savingsSuite } from './fixtures/tokens/savings-suite.ts';

savingsSuite('llama3_1');
