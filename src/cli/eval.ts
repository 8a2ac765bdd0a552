// pipe eval --model DIR --text FILE: mean next-token loss, perplexity and token count of a text, and
// bits per byte, which compares models whose tokenizers cut the text differently.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import { DEFAULT_EVAL_MAX_LEN, evaluateText } from '../model/eval.ts';
import { disposeModel } from '../model/weights.ts';
import { tokenByteLengths } from '../tokenizer/bytes.ts';
import { defineCommand, EXIT, expectArgs } from './command.ts';
import { loadForCli, MODEL_OPTIONS, numberOption } from './model-options.ts';

export default defineCommand({
  usage: '--model DIR --text FILE [--adapter DIR] [--max-len N] [--json]',
  description:
    'Encodes FILE with the model folder\'s tokenizer (special tokens added as its post-processor does), cuts it\n' +
    `into consecutive windows of at most --max-len tokens (default: the model's context length, else ${DEFAULT_EVAL_MAX_LEN})\n` +
    'and reports the mean next-token cross-entropy over all predicted tokens (the first token of each window is context only),\n' +
    'and bits per byte: the summed loss in bits over the UTF-8 bytes the predicted tokens spell (BOS/EOS\n' +
    'count 0), which compares models whose tokenizers cut the text differently (only the bytes of each\n' +
    "window's first token, context only, are left out, so the byte counts differ by a few).\n" +
    'With --json, stdout holds exactly {"tokens": N, "loss": L, "ppl": P, "bytes": B, "bits_per_byte": X}.',
  options: {
    ...MODEL_OPTIONS,
    text: { type: 'string', value: 'FILE', description: 'UTF-8 text to score' },
    'max-len': { type: 'string', value: 'N', description: "window length in tokens (default: the model's context length)" },
    json: { type: 'boolean', description: 'print one JSON object on stdout' },
  },
  async run({ values, positionals }, io) {
    expectArgs(positionals, []);
    if (typeof values.text !== 'string') throw new UsageError('missing --text FILE');
    const given = numberOption(values, 'max-len', (n) => Number.isInteger(n) && n >= 2, 'an integer >= 2');
    let text: string;
    try {
      text = await readFile(values.text, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --text ${values.text}: ${(e as Error).message}`);
    }
    const { model, tokenizer } = await loadForCli(values);
    // The whole trained context by default; past it the loss says little, so a longer --max-len is noted.
    const ctx = model.config.maxPositionEmbeddings;
    const maxLen = given ?? ctx ?? DEFAULT_EVAL_MAX_LEN;
    if (ctx && maxLen > ctx) io.err(`pipe eval: note: --max-len ${maxLen} is longer than the model's max_position_embeddings (${ctx})`);
    try {
      const r = evaluateText(model, tokenizer, text, { maxLen, byteLengths: tokenByteLengths(tokenizer) });
      const bpb = r.bitsPerByte ?? NaN;
      // Spaced like the documented form; NaN (no predicted token) prints as null.
      if (values.json) {
        io.out(`{"tokens": ${r.tokens}, "loss": ${JSON.stringify(r.loss)}, "ppl": ${JSON.stringify(r.ppl)}, "bytes": ${r.bytes}, "bits_per_byte": ${JSON.stringify(bpb)}}`);
      } else io.out(`tokens ${r.tokens}  loss ${r.loss.toFixed(6)}  ppl ${r.ppl.toFixed(4)}  bytes ${r.bytes}  bits/byte ${bpb.toFixed(4)}`);
      return EXIT.ok;
    } finally {
      disposeModel(model);
    }
  },
});
