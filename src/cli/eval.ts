// pipe eval --model DIR --text FILE: mean next-token loss, perplexity and token count of a text, and
// bits per byte, which compares models whose tokenizers cut the text differently.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import { DEFAULT_EVAL_MAX_LEN, evaluateText, evaluateTextNative } from '../model/eval.ts';
import { disposeModel } from '../model/weights.ts';
import { tokenByteLengths } from '../tokenizer/bytes.ts';
import { defineCommand, EXIT, expectArgs } from './command.ts';
import { loadForCli, MODEL_OPTIONS, numberOption } from './model-options.ts';

export default defineCommand({
  usage: '--model DIR --text FILE [--adapter DIR] [--max-len N] [--json]',
  description:
    'Encodes FILE with the model folder\'s tokenizer (special tokens added as its post-processor does), cuts it\n' +
    `into windows of at most --max-len tokens (default: the model's context length, else ${DEFAULT_EVAL_MAX_LEN}), each after\n` +
    'the first starting on the last token of the one before as context, and reports the mean next-token\n' +
    'cross-entropy over every token but the first, and bits per byte: the summed loss in bits over the\n' +
    'UTF-8 bytes those tokens spell (BOS/EOS count 0). With a BOS first, that is every byte of the text\n' +
    'whatever the tokenizer, so models with different tokenizers are compared on the same bytes; without\n' +
    'one, the first token has no context and its bytes are left out (a note says how many).\n' +
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
    const { model, tokenizer, engine } = await loadForCli(values);
    // The whole trained context by default; past it the loss says little, so a longer --max-len is noted.
    const ctx = model.config.maxPositionEmbeddings;
    const maxLen = given ?? ctx ?? DEFAULT_EVAL_MAX_LEN;
    if (ctx && maxLen > ctx) io.err(`pipe eval: note: --max-len ${maxLen} is longer than the model's max_position_embeddings (${ctx})`);
    try {
      const byteLengths = tokenByteLengths(tokenizer);
      // --backend native: each batch's forward and chunked head run as one ONNX Runtime graph.
      const r = engine === 'native' ? await evaluateTextNative(model, tokenizer, text, { maxLen, byteLengths }) : evaluateText(model, tokenizer, text, { maxLen, byteLengths });
      const bpb = r.bitsPerByte ?? NaN;
      // Without a BOS the first token is text nothing predicts: say so, since another tokenizer's first token spells other bytes.
      const unscored = r.ids.length > 0 ? byteLengths[r.ids[0]] : 0;
      if (unscored > 0) io.err(`pipe eval: note: the first token (${unscored} bytes) has no context (the tokenizer adds no BOS) and is not scored: bits per byte is over the other ${r.bytes} bytes`);
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
