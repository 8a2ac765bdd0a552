// Options and loading shared by the model commands (`pipe eval`, `pipe generate`).
import { UsageError } from '../errors.ts';
import { BACKEND_CHOICES, setBackend, type BackendChoice, type BackendName } from '../model/backend.ts';
import { frozenFor, loadModel, type LlamaModel } from '../model/weights.ts';
import { loadTokenizer, type LoadedTokenizer } from '../tokenizer/load.ts';
import { loadAdapter } from '../adapter/peft.ts';
import { applyAdapter } from '../adapter/apply.ts';
import { baseModelOfAdapter } from '../adapter/base-model.ts';
import type { OptionSpec, OptionValues } from './command.ts';

export const MODEL_OPTIONS: Record<string, OptionSpec> = {
  model: { type: 'string', value: 'DIR', description: 'Hugging Face model folder (config.json, *.safetensors, tokenizer.json); default with --adapter: its base_model_name_or_path' },
  adapter: { type: 'string', value: 'DIR', description: 'PEFT adapter folder applied on top of the model' },
  backend: { type: 'string', value: BACKEND_CHOICES.join('|'), description: 'engine: native (ONNX Runtime) or a TensorFlow.js backend (default auto: the fastest that loads)' },
};

/** A number option: absent → undefined; otherwise it must parse and pass `ok`. */
export function numberOption(values: OptionValues, name: string, ok: (n: number) => boolean, what: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || !ok(n)) {
    throw new UsageError(`--${name} must be ${what}, got '${String(raw)}'`);
  }
  return n;
}

/** --model, else the base model the --adapter folder names (relative to that folder). */
export function modelDirOption(values: OptionValues): string {
  if (typeof values.model === 'string') return values.model;
  if (typeof values.adapter === 'string') return baseModelOfAdapter(values.adapter);
  throw new UsageError('missing --model DIR');
}

/** Selects the backend, then loads the model and its tokenizer; `engine` is the backend in use ('native': ONNX Runtime). */
export async function loadForCli(values: OptionValues): Promise<{ model: LlamaModel; tokenizer: LoadedTokenizer; engine: BackendName }> {
  const dir = modelDirOption(values);
  const choice = (values.backend ?? 'auto') as string;
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${choice}'`);
  }
  const engine = await setBackend(choice as BackendChoice, { log: () => {} });
  // On the native engine the frozen weights go to ONNX Runtime only (one file every session maps), none to TF.js.
  const model = await loadModel(dir, { frozen: frozenFor(engine) });
  if (typeof values.adapter === 'string') {
    // LoRA on the linear hook and the adapter's token rows; its extended tokenizer when it has one.
    const adapter = await loadAdapter(values.adapter);
    applyAdapter(model, adapter);
    const tokenizer = adapter.tokenizer ? loadTokenizer({ ...adapter.tokenizer, source: values.adapter }) : loadTokenizer(dir);
    return { model, tokenizer, engine };
  }
  return { model, tokenizer: loadTokenizer(dir), engine };
}
