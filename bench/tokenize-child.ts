// One tokenization measurement in a process of its own (see measureInChild in tokenize.ts):
// argv mode ('pack' | 'only'), threads, MB; prints the pass rates as JSON on its last line.
import { measureTokenize, type TokenizeMode } from './tokenize.ts';
import { BenchOptionInvalid } from './errors.ts';

const [mode, threads, mb] = process.argv.slice(2);
if ((mode !== 'pack' && mode !== 'only') || !(Number(threads) > 0) || !(Number(mb) > 0)) throw new BenchOptionInvalid(`tokenize-child.ts takes pack|only, a thread count and MB of text, got: ${process.argv.slice(2).join(' ') || 'nothing'}`);
const r = await measureTokenize(mode as TokenizeMode, Number(threads), Number(mb));
console.log(JSON.stringify(r));
