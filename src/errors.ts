// Every error tokenpipe raises on purpose is a named class from this file, so callers
// (the executor, the CLI, tests) can tell kinds apart with `instanceof` and `code`,
// and messages stay consistent. Each area keeps its classes under its own heading. Only errors
// live here (and asIoFailed, which makes the IoFailed the executor and the io layer share);
// how a pipeline-file issue is printed is util/config-issue.ts, the tools' and benches' own
// errors are tools/errors.ts and bench/errors.ts.
import { formatIssue, type ConfigIssue } from './util/config-issue.ts';

export class TokenpipeError extends Error {
  /** Stable machine-readable code, e.g. 'CONFIG_INVALID'. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

// --- files: reading and writing (any layer) ---

const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  ENOENT: 'no such file or folder',
  EEXIST: 'something is already there',
  ENOTEMPTY: 'folder not empty',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** A Node.js system error (fs, net): it has an errno code such as 'ENOSPC' and the syscall that failed. */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z0-9]+$/.test((e as NodeJS.ErrnoException).code!) && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * Reading or writing a file or folder failed (no space, read-only, a file where a folder must
 * go, ...). The message names the path and the reason in words: `cannot write /run/adapter:
 * no space left on the device (ENOSPC)`; the system error is the cause (its stack for --verbose).
 */
export class IoFailed extends TokenpipeError {
  readonly path: string;
  constructor(path: string, action: string, cause: NodeJS.ErrnoException) {
    const code = cause.code ?? 'EIO';
    // The code is the system error's ('ENOSPC'), so a caller testing e.code sees what it always saw.
    super(code, `cannot ${action} ${path}: ${ERRNO_WORDS[code] ?? cause.message.replace(/^E[A-Z]+: /, '').split(',')[0]} (${code})`, { cause });
    this.path = path;
  }
}

/**
 * `e` as an IoFailed naming `path` when it is a system error (a write error such as ENOSPC
 * carries no path of its own), else unchanged. `action`: what was being done ('write', 'create folder').
 */
export function asIoFailed(e: unknown, path: string | undefined, action = 'write'): unknown {
  if (e instanceof IoFailed || !isSystemError(e)) return e;
  const p = path ?? e.path ?? (e as { dest?: string }).dest;
  const act = path === undefined ? ({ mkdir: 'create folder', open: 'open', rename: 'rename', rmdir: 'remove', unlink: 'remove', read: 'read', scandir: 'read folder' } as Record<string, string>)[e.syscall!] ?? action : action;
  return p ? new IoFailed(p, act, e) : e;
}

/**
 * A folder that tokenpipe would replace (an adapter, a merged model, a checkpoint) is there but
 * was not written by tokenpipe (it lacks the marker file): it is left as it is.
 */
export class OutputNotOurs extends TokenpipeError {
  constructor(readonly dir: string, detail: string) {
    super('OUTPUT_NOT_OURS', `${dir}: ${detail}`);
  }
}

// --- pipeline (files, graph, executor, pool, CLI) ---
// pipeline files, graph and CLI (loader side)

/** The pipeline file (with its overrides) is invalid; `issues` lists every error and warning found. */
export class ConfigInvalid extends TokenpipeError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    super('CONFIG_INVALID', `${errors.length} error(s) in pipeline:\n${errors.map(formatIssue).join('\n')}`);
    this.issues = issues;
  }
}

/** A module named by `use:` (or a built-in under nodes/) could not be imported or is not a node definition. */
export class NodeModuleInvalid extends TokenpipeError {
  readonly module: string;
  constructor(module: string, reason: string, options?: { cause?: unknown }) {
    super('NODE_MODULE_INVALID', `${module}: ${reason}`, options);
    this.module = module;
  }
}

/**
 * A node refused to start its work because the run's settings cannot work (nothing was loaded or written yet): the
 * run ends like an invalid pipeline, with exit status 2, and the message says what to change.
 */
export class RefusedBeforeWork extends TokenpipeError {}

/** Bad command line: unknown command or option, missing argument. The CLI exits with status 2. */
export class UsageError extends TokenpipeError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** Another leg holds the run folder's lock (src/pipeline/run-lock.ts): refused before anything is written (exit 2). */
export class RunFolderLocked extends RefusedBeforeWork {
  constructor(readonly runDir: string, readonly lockFile: string, holder: string) {
    super('RUN_FOLDER_LOCKED', `run folder ${runDir} is in use by another leg: ${holder}. ` +
      `Wait for that leg to end (or stop it); a lock left by a process that is no longer running on this host is taken over by the next leg, ` +
      `and one from another host or unreadable is removed by hand (${lockFile}) once no leg runs there`);
  }
}

// executor, pool (runtime side)

/** A node failed; `index` is the zero-based index of the item it failed on, when known. */
export class NodeFailed extends TokenpipeError {
  readonly node: string;
  readonly index: number | undefined;
  constructor(node: string, index: number | undefined, error: unknown) {
    // A raw system error (ENOSPC, ENOTDIR, ...) becomes an IoFailed naming its path.
    const cause = asIoFailed(error, undefined);
    const at = index === undefined ? '' : ` on item ${index}`;
    const why = cause instanceof Error ? cause.message : String(cause);
    super('NODE_FAILED', `node '${node}' failed${at}: ${why}`, { cause });
    this.node = node;
    this.index = index;
  }
}

/** A node's input ended without what the node needs (a value, a token list, any eval batch). */
export class NodeInputMissing extends TokenpipeError {
  constructor(readonly node: string, detail: string) {
    super('NODE_INPUT_MISSING', `${node}: ${detail}`);
  }
}

/** A value output yielded no item or more than one (a value edge carries exactly one). */
export class ValueEdgeInvalid extends TokenpipeError {
  constructor(readonly edge: string, detail: string) {
    super('VALUE_EDGE_INVALID', `value output ${edge} ${detail}`);
  }
}

/** The pipeline cannot be run as resolved (a worker node without one stream input, an input without producer). */
export class PipelineUnrunnable extends TokenpipeError {
  constructor(detail: string) {
    super('PIPELINE_UNRUNNABLE', detail);
  }
}

/** An error thrown on a worker thread, rebuilt on the main thread with its original name, message and stack. */
export class WorkerError extends TokenpipeError {
  constructor(readonly originalName: string, message: string, stack: string | undefined) {
    super('WORKER_ERROR', message);
    if (stack) this.stack = stack;
  }
}

// --- io (safetensors, peft adapter files, arrow) ---

/** This machine cannot run tokenpipe's file formats at all (a big-endian host). */
export class PlatformUnsupported extends TokenpipeError {
  constructor(detail: string) {
    super('PLATFORM_UNSUPPORTED', detail);
  }
}

/** Where a safetensors problem sits: the file and, when known, the tensor. */
function stWhere(file: string, tensor?: string): string {
  return tensor === undefined ? file : `${file}: tensor "${tensor}"`;
}

/** The header of a safetensors file is unreadable: too short, length bound, JSON, entry fields, duplicate keys. */
export class SafetensorsHeaderError extends TokenpipeError {
  constructor(readonly file: string, detail: string, readonly tensor?: string) {
    super('SAFETENSORS_HEADER', `${stWhere(file, tensor)}: invalid safetensors header: ${detail}`);
  }
}

/** A dtype name the safetensors format does not define (or one this library cannot convert). */
export class SafetensorsDtypeError extends TokenpipeError {
  constructor(readonly file: string, readonly tensor: string | undefined, detail: string) {
    super('SAFETENSORS_DTYPE', `${stWhere(file, tensor)}: ${detail}`);
  }
}

/** The byte layout is wrong: size vs shape, gaps, overlaps, out of bounds, trailing bytes. */
export class SafetensorsLayoutError extends TokenpipeError {
  constructor(readonly file: string, readonly tensor: string | undefined, detail: string) {
    super('SAFETENSORS_LAYOUT', `${stWhere(file, tensor)}: invalid safetensors layout: ${detail}`);
  }
}

/** A tensor name asked for is not in the file or weight set. */
export class SafetensorsTensorNotFound extends TokenpipeError {
  constructor(readonly file: string, readonly tensor: string) {
    super('SAFETENSORS_TENSOR_NOT_FOUND', `${file}: no tensor named "${tensor}"`);
  }
}

/** A sharded checkpoint's index (model.safetensors.index.json) disagrees with the files. */
export class SafetensorsIndexError extends TokenpipeError {
  constructor(readonly file: string, detail: string, readonly tensor?: string) {
    super('SAFETENSORS_INDEX', `${stWhere(file, tensor)}: ${detail}`);
  }
}

/** Tensors handed to the writer do not describe a valid file (bad name, shape, data length, dtype). */
export class SafetensorsWriteError extends TokenpipeError {
  constructor(readonly file: string, detail: string, readonly tensor?: string) {
    super('SAFETENSORS_WRITE', `${stWhere(file, tensor)}: cannot write safetensors: ${detail}`);
  }
}

/** A PEFT adapter folder is incomplete or malformed: missing file, key, shape or config field. */
export class AdapterFormatError extends TokenpipeError {
  constructor(readonly dir: string, detail: string, options?: { cause?: unknown }) {
    super('ADAPTER_FORMAT', `${dir}: invalid PEFT adapter: ${detail}`, options);
  }
}

// --- model (config, weights, forward, backends) ---

/** A TensorFlow.js backend was asked for but cannot be loaded or has no device. */
export class BackendUnavailable extends TokenpipeError {
  constructor(readonly backend: string, message: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', message, options);
  }
}

/** config.json (or generation_config.json) of a model folder is unreadable or a field has a bad value. */
export class ModelConfigInvalid extends TokenpipeError {
  constructor(readonly file: string, readonly field: string, detail: string) {
    super('MODEL_CONFIG_INVALID', `${file}: ${field}: ${detail}`);
  }
}

/** A model folder that is missing, or has no config.json (e.g. a mistyped --model or `model:` param). */
export class ModelNotFound extends TokenpipeError {
  constructor(readonly dir: string, reason: string) {
    super('MODEL_NOT_FOUND', `${dir}: not a Hugging Face model folder (${reason})`);
  }
}

/** The model asks for something tokenpipe does not implement (model_type, rope type, sliding window in effect). */
export class ModelUnsupported extends TokenpipeError {
  constructor(readonly file: string, readonly field: string, detail: string) {
    super('MODEL_UNSUPPORTED', `${file}: ${field}: ${detail}`);
  }
}

/** A weight the config implies is missing from the checkpoint or has the wrong shape. */
export class ModelWeightsInvalid extends TokenpipeError {
  constructor(readonly dir: string, readonly tensor: string, detail: string) {
    super('MODEL_WEIGHTS_INVALID', `${dir}: tensor "${tensor}": ${detail}`);
  }
}

/**
 * config.json and the weights' headers disagree (a dimension, the layer count, a bias the config
 * does not expect), or a config value is beyond any real model: names the config key and what the
 * weights hold, so the user knows which of the two to fix.
 */
export class ModelConfigMismatch extends TokenpipeError {
  constructor(readonly file: string, readonly field: string, detail: string) {
    super('MODEL_CONFIG_MISMATCH', `${file}: ${field}: ${detail}`);
  }
}

/** A forward/generate/eval call got inputs that do not fit the model (ids out of range, shapes, cache misuse). */
export class ModelInputInvalid extends TokenpipeError {
  constructor(detail: string) {
    super('MODEL_INPUT_INVALID', detail);
  }
}

// --- tokenizer (load, discovery, extension, init) ---

/** tokenizer.json / tokenizer_config.json is unreadable or lacks what a tokenizer needs. */
export class TokenizerFileInvalid extends TokenpipeError {
  constructor(readonly file: string, detail: string, options?: { cause?: unknown }) {
    super('TOKENIZER_FILE_INVALID', `${file}: invalid tokenizer file: ${detail}`, options);
  }
}

/** A token string cannot be added (empty, only whitespace, not a string). `where` names its source. */
export class TokenInvalid extends TokenpipeError {
  constructor(readonly where: string, readonly token: unknown, detail: string) {
    super('TOKEN_INVALID', `${where}: token ${JSON.stringify(token)} ${detail}`);
  }
}

/** A chat template does not parse (or names an unknown family). `source` is the file or 'inline template'. */
export class TemplateInvalid extends TokenpipeError {
  constructor(readonly source: string, detail: string, options?: { cause?: unknown }) {
    super('TEMPLATE_INVALID', `${source}: chat template: ${detail}`, options);
  }
}

/** The operation needs a tokenizer feature this one lacks (e.g. merge mode on a non-BPE model). */
export class TokenizerUnsupported extends TokenpipeError {
  constructor(detail: string) {
    super('TOKENIZER_UNSUPPORTED', detail);
  }
}

/** New-row initialisation cannot run as asked (unknown method, copy source not a single token, shape mismatch). */
export class TokenInitInvalid extends TokenpipeError {
  constructor(detail: string) {
    super('TOKEN_INIT_INVALID', detail);
  }
}

// --- data (corpus reader, packer, cache) ---

/** One corpus record is unusable (bad JSON, invalid UTF-8, missing text field, ...). `where` is file:line or file#row. */
export class CorpusRecordInvalid extends TokenpipeError {
  constructor(readonly where: string, readonly reason: string) {
    super('DATA_RECORD_INVALID', `${where}: ${reason}`);
  }
}

/** The corpus cannot be read at all: no file matches, unknown format, unreadable file. */
export class CorpusSourceInvalid extends TokenpipeError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('DATA_SOURCE_INVALID', detail, options);
  }
}

/** A packed batch or its IPC file does not have the documented schema (src/io/arrow.ts). */
export class ArrowBatchInvalid extends TokenpipeError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('DATA_BATCH_INVALID', detail, options);
  }
}

/** The packer cannot run as configured (e.g. no EOS id in the tokenizer while appendEos is on). */
export class PackerConfigInvalid extends TokenpipeError {
  constructor(detail: string) {
    super('DATA_PACKER_CONFIG', detail);
  }
}

// --- train (step, optimizer, checkpoints, resume) ---

/** Saved optimizer state does not fit the params of this run (resume with a changed config). */
export class OptimizerStateMismatch extends TokenpipeError {
  constructor(detail: string) {
    super('OPTIMIZER_STATE_MISMATCH', `cannot restore optimizer state: ${detail}`);
  }
}

/** A checkpoint folder cannot be written or read back, or does not match this run. */
export class CheckpointError extends TokenpipeError {
  constructor(readonly dir: string, detail: string, options?: { cause?: unknown }) {
    super('CHECKPOINT', `${dir}: ${detail}`, options);
  }
}

/** The watchdog stopped training: non-finite or exploding loss / gradient norm. */
/**
 * The train watchdog stopped a diverging or collapsed run (src/train/watchdog.ts) before update `step` was applied.
 * `setting`: the watchdog param that decides it (absent for a NaN/Inf, which always stops); `firstBad`: the first
 * update whose loss showed the trouble (the weights before it are the last sound ones).
 */
export class TrainingDiverged extends TokenpipeError {
  readonly setting?: string;
  readonly firstBad: number;
  constructor(readonly step: number, readonly detail: string, o: { setting?: string; firstBad?: number } = {}) {
    super('TRAINING_DIVERGED', `training stopped at step ${step}: ${detail}`);
    this.setting = o.setting;
    this.firstBad = o.firstBad ?? step;
  }
}

/** The memory plan of a training step exceeds what the backend can hold (checked before the model is loaded). */
export class MemoryPlanExceeded extends RefusedBeforeWork {
  constructor(detail: string) {
    super('MEMORY_PLAN_EXCEEDED', detail);
  }
}

/**
 * A checkpoint was written under another training config or token list: resuming from it is
 * refused before any update. `changes` names each differing field (`lr: 0.02 (checkpoint) → 0.05 (now)`).
 */
export class ResumeConfigMismatch extends RefusedBeforeWork {
  constructor(readonly dir: string, readonly changes: string[]) {
    super('RESUME_CONFIG_MISMATCH', `${dir}: the checkpoint was written under another training config or token list; cannot resume with ${
      changes.length ? `these changes:\n${changes.map((c) => `  ${c}`).join('\n')}` : 'it (the checkpoint does not record its config, so the fields cannot be named)'}`);
  }
}

/** Training sequences are longer than the model's context (max_position_embeddings) and the user did not opt in. */
export class ContextExceeded extends RefusedBeforeWork {
  constructor(detail: string) {
    super('CONTEXT_EXCEEDED', detail);
  }
}

/** Adapter weights or trainable rows do not fit this model or LoRA config (wrong module, rank or shape). */
export class AdapterMismatch extends TokenpipeError {
  constructor(detail: string) {
    super('ADAPTER_MISMATCH', detail);
  }
}

// --- GGUF export ---

/** A GGUF file cannot be written as asked (bad key/value, tensor shape or data length, dtype). */
export class GgufWriteError extends TokenpipeError {
  constructor(readonly file: string, detail: string) {
    super('GGUF_WRITE', `${file}: cannot write GGUF: ${detail}`);
  }
}

/** The model or tokenizer has something the GGUF export cannot express for llama.cpp (named in the message). */
export class GgufExportUnsupported extends TokenpipeError {
  constructor(readonly source: string, detail: string) {
    super('GGUF_EXPORT_UNSUPPORTED', `${source}: cannot export to GGUF: ${detail}`);
  }
}
