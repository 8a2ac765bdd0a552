// The `pipe` subcommands. To add one, write src/cli/<name>.ts with a default export made by
// defineCommand(...) and add a line here; modules load only when their command runs, so a
// heavy or broken command does not slow or break the others.
import type { Command } from './command.ts';

export interface CommandEntry {
  /** One line for `pipe --help`. */
  summary: string;
  load(): Promise<Command>;
}

export const commands: Record<string, CommandEntry> = {
  run: { summary: 'run a pipeline file', load: async () => (await import('./run.ts')).default },
  validate: { summary: 'check a pipeline file and report every problem in it', load: async () => (await import('./validate.ts')).default },
  graph: { summary: 'print the graph of a pipeline as a Mermaid flowchart', load: async () => (await import('./graph.ts')).default },
  nodes: { summary: 'list the built-in nodes with their ports and params', load: async () => (await import('./nodes.ts')).default },
  eval: { summary: 'loss and perplexity of a model on a text file', load: async () => (await import('./eval.ts')).default },
  generate: { summary: 'continue a prompt with a model, streaming the text', load: async () => (await import('./generate.ts')).default },
  merge: { summary: 'fold an adapter into its base model and write a plain model folder', load: async () => (await import('./merge.ts')).default },
  export: { summary: 'write the model (an adapter folded in) as a GGUF file for llama.cpp, node-llama-cpp, Ollama', load: async () => (await import('./export.ts')).default },
};
