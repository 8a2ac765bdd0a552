// pipe generate --model DIR --prompt TEXT: continues the prompt, streaming text to stdout as it is produced.
// With --chat (--user, --messages) the prompt is messages rendered by the chat template, and only the reply is printed.
import { UsageError } from '../errors.ts';
import { generate, TextStreamer } from '../model/generate.ts';
import { generateNative } from '../model/generate-native.ts';
import { disposeModel } from '../model/weights.ts';
import { defineCommand, EXIT, expectArgs, type CliIO } from './command.ts';
import { loadForCli, MODEL_OPTIONS, numberOption } from './model-options.ts';
import { CHAT_OPTIONS, chatMessages, renderChatPrompt, wantsChat } from './chat-prompt.ts';

/** End-of-turn markers of the common chat formats (ChatML, Llama 3, Phi, Gemma). */
const END_OF_TURN = ['<|im_end|>', '<|eot_id|>', '<|end|>', '<end_of_turn>'];

/** CliIO may carry a raw writer (no newline added); the process's stdout otherwise. */
type StreamIO = CliIO & { write?: (text: string) => void };

export default defineCommand({
  usage: '--model DIR (--prompt TEXT | --chat --user TEXT [--system TEXT] | --messages FILE) [--adapter DIR] [--max-new-tokens N] [--temperature T] [--top-p P] [--seed S] [--stop TOKEN ...]',
  description:
    'Greedy decoding unless --temperature is given (then sampling, with optional nucleus --top-p, seeded by\n' +
    '--seed). Stops at an end-of-sequence id (generation_config.json, else config.json), at a chat\n' +
    'end-of-turn token the tokenizer has (' + END_OF_TURN.join(', ') + '), at any --stop token, or after\n' +
    '--max-new-tokens (default 64). The prompt is encoded with the tokenizer\'s special tokens (e.g. BOS).\n' +
    'With --chat the messages go through the chat template with add_generation_prompt, and the text is\n' +
    'encoded as it is (the template writes any BOS, as in apply_chat_template); only the reply is printed.\n' +
    'With --adapter and no --model, the base model is the adapter\'s base_model_name_or_path.',
  options: {
    ...MODEL_OPTIONS,
    prompt: { type: 'string', value: 'TEXT', description: 'text to continue' },
    ...CHAT_OPTIONS,
    'max-new-tokens': { type: 'string', value: 'N', description: 'most tokens to add (default 64)' },
    temperature: { type: 'string', value: 'T', description: 'sampling temperature; absent or 0 = greedy' },
    'top-p': { type: 'string', value: 'P', description: 'nucleus sampling mass in (0, 1] (default 1)' },
    seed: { type: 'string', value: 'S', description: 'sampling seed (default 0)' },
    stop: { type: 'string', multiple: true, value: 'TOKEN', description: 'also stop at this token (repeatable; must be one token of the vocabulary)' },
  },
  async run({ values, positionals }, io: StreamIO) {
    expectArgs(positionals, []);
    const chat = wantsChat(values);
    if (chat && values.prompt !== undefined) throw new UsageError('--prompt and --chat exclude each other: the chat template builds the prompt');
    if (!chat && typeof values.prompt !== 'string') throw new UsageError('missing --prompt TEXT (or --chat --user TEXT)');
    const messages = chat ? chatMessages(values) : undefined;
    const maxNewTokens = numberOption(values, 'max-new-tokens', (n) => Number.isInteger(n) && n >= 1, 'an integer >= 1') ?? 64;
    const temperature = numberOption(values, 'temperature', (n) => n >= 0, 'a number >= 0');
    const topP = numberOption(values, 'top-p', (n) => n > 0 && n <= 1, 'a number in (0, 1]');
    const seed = numberOption(values, 'seed', (n) => Number.isInteger(n), 'an integer');
    const write = io.write ?? ((s: string) => void process.stdout.write(s));
    const { model, tokenizer, engine } = await loadForCli(values);
    try {
      const prompt = messages ? renderChatPrompt(messages, tokenizer, values['chat-template'] as string | undefined) : (values.prompt as string);
      const promptIds = tokenizer.encode(prompt, { addSpecialTokens: !messages });
      const stops = (values.stop as string[] | undefined) ?? [];
      for (const t of stops) if (tokenizer.tokenToId(t) === undefined) throw new UsageError(`--stop ${JSON.stringify(t)}: not a token of the tokenizer`);
      // A chat reply ends at its end-of-turn marker, which is rarely the model's eos.
      const eosTokenIds = [...model.config.eosTokenIds, ...[...END_OF_TURN, ...stops].map((t) => tokenizer.tokenToId(t)).filter((id) => id !== undefined)];
      const streamer = new TextStreamer(tokenizer, promptIds);
      if (!messages) write(prompt);
      const opts = {
        maxNewTokens,
        temperature,
        topP,
        seed,
        eosTokenIds,
        onToken: (id: number) => {
          const delta = streamer.push(id);
          if (delta) write(delta);
        },
      };
      // --backend native: each step's forward runs as one ONNX Runtime graph (generate-native.ts).
      if (engine === 'native') await generateNative(model, promptIds, opts);
      else generate(model, promptIds, opts);
      write(streamer.end() + '\n');
      return EXIT.ok;
    } finally {
      disposeModel(model);
    }
  },
});
