// Every error tokenpipe raises on purpose is a named class from this file, so callers
// (the executor, the CLI, tests) can tell kinds apart with `instanceof` and `code`,
// and messages stay consistent. Each area keeps its classes under its own heading.

export class TokenpipeError extends Error {
  /** Stable machine-readable code, e.g. 'CONFIG_INVALID'. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

// --- pipeline (files, graph, executor, pool, CLI) ---

// --- io (safetensors, peft adapter files, arrow) ---

// --- model (config, weights, forward, backends) ---

// --- tokenizer (load, discovery, extension, init) ---

// --- data (corpus reader, packer, cache) ---

// --- train (step, optimizer, checkpoints, resume) ---
