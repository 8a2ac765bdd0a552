// One problem found in a pipeline file (or a --set override) and how it is printed: the
// loader collects these, ConfigInvalid (errors.ts) carries them, the CLI prints them.
/** One problem found in a pipeline file (or a --set override). */
export interface ConfigIssue {
  severity: 'error' | 'warning';
  /** Kind of problem: 'yaml', 'schema', 'unknown-node', 'unknown-key', 'node-module', 'cycle', ... */
  code: string;
  message: string;
  /** Field path in the pipeline file, e.g. ['nodes', 'pack', 'with', 'seqLen']. */
  path: Array<string | number>;
  /** "did you mean" candidate, already part of `message`. */
  suggestion?: string;
  file?: string;
  line?: number;
  column?: number;
  /** The `--set` argument the offending value came from, when it did not come from the file. */
  override?: string;
}

/** `nodes.pack.with.list[0]` */
export function formatIssuePath(path: Array<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** `file:line:col: error: nodes.pack.with.seqLen: message` (compiler style, so editors can jump to it). */
export function formatIssue(i: ConfigIssue): string {
  const where = i.override
    ? `--set ${i.override}`
    : `${i.file ?? '<pipeline>'}${i.line ? `:${i.line}:${i.column ?? 1}` : ''}`;
  const field = i.path.length ? `${formatIssuePath(i.path)}: ` : '';
  return `${where}: ${i.severity}: ${field}${i.message}`;
}
