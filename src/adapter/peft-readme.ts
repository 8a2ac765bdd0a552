// The README.md of an adapter folder: how to load it in Python, and where it came from.
import type { AdapterContents } from './peft.ts';

export interface Provenance {
  /** sha256 of the pipeline file the run used, and its path. */
  pipelineHash?: string;
  pipelineFile?: string;
  /** sha256 per corpus file. */
  corpusHashes?: Record<string, string>;
  /** Last metrics (eval loss, perplexity, new-token loss/accuracy, ...). */
  metrics?: Record<string, number>;
  step?: number;
  /** The base model folder the run loaded, absolute: adapter_config.json names it portably. */
  baseModelPath?: string;
  /** Legs of the run resumed with --resume-changed, and what differed from the first leg. */
  resumedWithChanges?: Array<{ leg: number; changes: string[] }>;
  /** Anything else worth recording (seed, backend, tokenpipe version). */
  [key: string]: unknown;
}

export function adapterReadme(c: AdapterContents, p: Provenance): string {
  const modeLine = {
    'trainable-tokens': 'LoRA plus trainable token rows (`trainable_token_indices`): only the listed rows are stored.',
    full: 'LoRA plus the whole embedding and head (`modules_to_save`).',
    frozen: 'LoRA only; the new tokens\' rows are stored as `trainable_token_indices` rows (untrained) so the adapter is self-contained.',
  }[c.mode];
  const tokens = c.newTokens.map((t, i) => `| ${c.newTokenIds[i]} | \`${JSON.stringify(t).slice(1, -1).replace(/\|/g, '\\|')}\` |`);
  const metrics = Object.entries(p.metrics ?? {}).map(([k, v]) => `- ${k}: ${v}`);
  const corpus = Object.entries(p.corpusHashes ?? {}).map(([f, h]) => `- \`${f}\`: \`${h}\``);
  const changed = (p.resumedWithChanges ?? []).flatMap((l) => [`- leg ${l.leg} resumed with --resume-changed:`, ...l.changes.map((c) => `  - ${c}`)]);
  return [
    '# tokenpipe adapter',
    '',
    `A PEFT LoRA adapter for \`${c.baseModelNameOrPath}\` with ${c.newTokens.length} added tokens. ${modeLine}`,
    '',
    '## Load in Python',
    '',
    'Resize the base model to the extended vocabulary **before** loading the adapter:',
    '',
    '```python',
    'from transformers import AutoModelForCausalLM, AutoTokenizer',
    'from peft import PeftModel',
    '',
    'adapter = "path/to/this/folder"',
    'tokenizer = AutoTokenizer.from_pretrained(adapter)',
    `base = AutoModelForCausalLM.from_pretrained(${JSON.stringify(c.baseModelNameOrPath)})`,
    `base.resize_token_embeddings(${c.vocabSize})`,
    'model = PeftModel.from_pretrained(base, adapter)',
    '```',
    '',
    'Whatever the resize puts in the new rows is replaced by the rows stored here.',
    '',
    '## Provenance',
    '',
    `- step: ${p.step ?? 'n/a'}`,
    ...(p.baseModelPath ? [`- base model folder: \`${p.baseModelPath}\``] : []),
    `- pipeline file: ${p.pipelineFile ? `\`${p.pipelineFile}\`` : 'n/a'} (sha256 ${p.pipelineHash ?? 'n/a'})`,
    ...(corpus.length ? ['- corpus files:', ...corpus.map((l) => '  ' + l)] : []),
    ...changed,
    ...(metrics.length ? ['', '### Final metrics', '', ...metrics] : []),
    '',
    '### Added tokens',
    '',
    '| id | token |',
    '|---|---|',
    ...tokens,
    '',
  ].join('\n');
}
