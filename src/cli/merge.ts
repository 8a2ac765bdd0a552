// pipe merge --model DIR --adapter DIR --out DIR: a plain HF model folder with the adapter folded in.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { mergeAdapter } from '../adapter/merge.ts';
import { isOwned, OWNED_MARKER } from '../io/owned-dir.ts';
import { defineCommand, EXIT, expectArgs } from './command.ts';
import { modelDirOption } from './model-options.ts';

export default defineCommand({
  usage: '--adapter DIR --out DIR [--model DIR] [--shard-gb N] [--force]',
  description:
    'Writes a Hugging Face model folder for servers that do not load adapters: the vocabulary resized to the\n' +
    'adapter\'s, the trained token rows written, every LoRA folded into its weight (W + scaling·B·A, kept in\n' +
    'the base\'s dtype), and the extended tokenizer. The folder appears only when complete.',
  options: {
    model: { type: 'string', value: 'DIR', description: "base model folder (default: the adapter's base_model_name_or_path, relative to it)" },
    adapter: { type: 'string', value: 'DIR', description: 'PEFT adapter folder (from a tokenpipe run)' },
    out: { type: 'string', value: 'DIR', description: 'folder to write' },
    'shard-gb': { type: 'string', value: 'N', description: 'largest safetensors shard in GB (default 5)' },
    force: { type: 'boolean', description: 'replace --out when it holds an earlier merge (a folder tokenpipe did not write is never replaced)' },
  },
  async run({ values, positionals }, io) {
    expectArgs(positionals, []);
    for (const k of ['adapter', 'out']) if (typeof values[k] !== 'string') throw new UsageError(`missing --${k} DIR`);
    const model = modelDirOption(values);
    const out = path.resolve(values.out as string);
    // Never overwrite what is already there by accident (the base model folder, an earlier merge).
    for (const [k, dir] of [['model', model], ['adapter', values.adapter as string]]) if (path.resolve(dir) === out) throw new UsageError(`--out is the --${k} folder; choose another`);
    if (existsSync(out) && readdirSync(out).length > 0) {
      if (!values.force) throw new UsageError(`--out ${values.out}: folder exists and is not empty (add --force to replace it)`);
      // --force replaces an earlier merge only: a folder tokenpipe did not write is never deleted.
      if (!isOwned(out)) throw new UsageError(`--out ${values.out}: holds files tokenpipe did not write (no ${OWNED_MARKER}); --force replaces only a folder an earlier pipe merge wrote`);
    }
    const gb = values['shard-gb'] === undefined ? 5 : Number(values['shard-gb']);
    if (!(gb > 0)) throw new UsageError(`--shard-gb must be a positive number, got '${String(values['shard-gb'])}'`);
    const r = await mergeAdapter(model, values.adapter as string, values.out as string, { maxShardBytes: gb * 1e9 });
    io.err(`merged ${r.merged} LoRA module(s); vocabulary ${r.vocabSize}; wrote ${values.out}`);
    return EXIT.ok;
  },
});
