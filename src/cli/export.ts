// pipe export --adapter DIR --format gguf --out FILE.gguf: the merged model (or a plain model folder) as
// one GGUF file for llama.cpp, node-llama-cpp and Ollama, tokenizer and chat template inside.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { EXPORT_DTYPES, exportGguf, type ExportDType } from '../adapter/gguf-export.ts';
import { defineCommand, EXIT, expectArgs } from './command.ts';
import { modelDirOption } from './model-options.ts';

export default defineCommand({
  usage: '(--adapter DIR [--model DIR] | --model DIR) --format gguf --out FILE.gguf [--dtype f32|f16|bf16|q8_0] [--force]',
  description:
    'Writes the model as a GGUF file that llama.cpp loads unchanged: with --adapter, the adapter folded into its\n' +
    'base model (LoRA merged, new token rows in place, as pipe merge does), else the --model folder as it is.\n' +
    'The file holds the tokenizer (vocabulary, merges or scores, the new tokens typed as llama.cpp expects,\n' +
    'BOS/EOS/pad ids) and the chat template (the adapter\'s when it has one). --dtype sets the matrices\'\n' +
    'storage (default f16); norms and biases stay f32. The file appears only when complete.',
  options: {
    model: { type: 'string', value: 'DIR', description: "model folder (default with --adapter: the adapter's base_model_name_or_path)" },
    adapter: { type: 'string', value: 'DIR', description: 'PEFT adapter folder to fold in (from a tokenpipe run)' },
    format: { type: 'string', value: 'gguf', description: 'output format (only gguf)' },
    out: { type: 'string', value: 'FILE', description: 'file to write' },
    dtype: { type: 'string', value: EXPORT_DTYPES.join('|'), description: 'matrix storage type (default f16)' },
    force: { type: 'boolean', description: 'replace --out when it exists' },
  },
  async run({ values, positionals }, io) {
    expectArgs(positionals, []);
    if (values.format !== 'gguf') throw new UsageError(values.format === undefined ? 'missing --format gguf' : `--format must be gguf, got '${String(values.format)}'`);
    if (typeof values.out !== 'string') throw new UsageError('missing --out FILE.gguf');
    if (typeof values.adapter !== 'string' && typeof values.model !== 'string') throw new UsageError('missing --adapter DIR or --model DIR');
    const dtype = (values.dtype ?? 'f16') as string;
    if (!(EXPORT_DTYPES as readonly string[]).includes(dtype)) throw new UsageError(`--dtype must be one of ${EXPORT_DTYPES.join(', ')}, got '${dtype}'`);
    const out = path.resolve(values.out);
    if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out ${values.out} is a folder; give a file name`);
    if (!values.force && existsSync(out)) throw new UsageError(`--out ${values.out}: file exists (add --force to replace it)`);
    if (!existsSync(path.dirname(out))) throw new UsageError(`--out ${values.out}: folder ${path.dirname(values.out)} does not exist`);
    const adapterDir = typeof values.adapter === 'string' ? values.adapter : null;
    const modelDir = modelDirOption(values);
    const r = await exportGguf({ modelDir, adapterDir, out, dtype: dtype as ExportDType });
    if (r.fallbackF16.length) io.err(`pipe export: ${r.fallbackF16.length} matrix(es) kept f16: rows not a multiple of 32 values (${r.fallbackF16.slice(0, 3).join(', ')}${r.fallbackF16.length > 3 ? ', …' : ''})`);
    const what = adapterDir ? `${r.loraModules} LoRA module(s) folded, ` : '';
    io.err(`pipe export: ${what}vocabulary ${r.vocabSize}, ${r.tensors} tensors, ${(r.bytes / 2 ** 20).toFixed(1)} MiB ${dtype}; wrote ${values.out}`);
    return EXIT.ok;
  },
});
