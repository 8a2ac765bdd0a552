// A copy of a fixture model folder in a temp dir, with config.json keys replaced and optionally
// its weights rewritten, plus a small pipeline that trains on it: for the tests of what
// `pipe validate` refuses in a model folder (config against the weights' headers).
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/io/safetensors.ts';

export const FIXTURE_ROOT = path.resolve(import.meta.dirname, '..', '..');
export const LLAMA = path.join(FIXTURE_ROOT, 'fixtures', 'models', 'llama');

/** `fixtures/models/<name>` copied to `<dir>/model`, its config.json merged with `config`. */
export function modelCopy(dir: string, config: Record<string, unknown> = {}, from = LLAMA): string {
  const model = path.join(dir, 'model');
  cpSync(from, model, { recursive: true });
  const file = path.join(model, 'config.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...config }, null, 2));
  return model;
}

/** Rewrites `<model>/model.safetensors` tensor by tensor (the f32 values in, the tensor to write out). */
export async function rewriteWeights(model: string, f: (name: string, shape: number[], values: Float32Array) => TensorToWrite): Promise<void> {
  const file = path.join(model, 'model.safetensors');
  const st = await SafetensorsFile.open(file);
  const out: TensorToWrite[] = [];
  for (const t of st.tensors()) out.push(f(t.name, t.shape, await st.readF32(t.name)));
  await st.close();
  await writeSafetensors(file, out);
}

/**
 * A pipeline in `dir` that trains `model` (line corpus, one given token, packer with `pack`'s
 * params, train-step with `train`'s): `pipe validate` checks every node's inputs.
 */
export function trainPipeline(dir: string, model: string, o: { pack?: string; train?: string; tokens?: string; corpus?: string } = {}): string {
  const corpus = o.corpus ?? 'corpus.txt';
  if (!o.corpus) writeFileSync(path.join(dir, corpus), 'the harbour town river sea storm\n'.repeat(20));
  const file = path.join(dir, 'train.yaml');
  writeFileSync(file, `name: check
settings: { outputDir: ${JSON.stringify(path.join(dir, 'runs'))}, backend: cpu, workers: 1 }
nodes:
  corpus: { use: corpus-reader, with: { paths: ${corpus}, textMode: line, evalFraction: 0.2 } }
  tokens:
    use: token-discovery
    with:
      model: ${JSON.stringify(LLAMA)}
      tokens: ${o.tokens ?? '["<harbour>"]'}
      mine: false
  tokenizer: { use: tokenizer-extension, from: tokens, with: { model: ${JSON.stringify(LLAMA)} } }
  pack:
    use: batch-packer
    from: { docs: corpus.docs, tokenizer: tokenizer }
    with: { seqLen: 16, batchSize: 2${o.pack ? `, ${o.pack}` : ''} }
  train:
    use: train-step
    from: { batches: pack.train, tokenizer: tokenizer }
    with: { model: ${JSON.stringify(model)}, steps: 1${o.train ? `, ${o.train}` : ''} }
`);
  return file;
}

export const tempDir = (prefix: string) => mkdtempSync(path.join(tmpdir(), prefix));
