// JSON as Python writes it for the files tokenpipe shares with Hugging Face tools (tokenizer
// configs, adapter configs): keys sorted at every level, and a compact canonical form to hash.
// Here in src/io because both the tokenizer and the adapter writers need it.
type Json = Record<string, unknown>;

/**
 * JSON with keys sorted at every level (plain code-unit order: Array.prototype.sort's default, and
 * the same as Python's sort for these files' characters). indent 0: compact (the canonical form the artifact hash
 * is taken over); indent 2: what Python's json.dumps(indent=2, sort_keys=True, ensure_ascii=False)
 * writes, i.e. transformers' tokenizer_config.json. A custom writer because JS objects iterate
 * integer-like keys ("10", "128000") numerically first, whatever order they were set in.
 */
export function sortedJson(value: unknown, indent = 0): string {
  const out: string[] = [];
  write(value, '');
  return out.join('');

  function write(v: unknown, pad: string): void {
    if (v === null || typeof v !== 'object') {
      out.push(v === undefined ? 'null' : JSON.stringify(v));
      return;
    }
    // Fast path for the big parts of tokenizer.json (merges: arrays of strings or pairs):
    // no object inside means no key to sort, and JSON.stringify writes the same compact text.
    if (!indent && Array.isArray(v) && v.every(noObject)) return void out.push(JSON.stringify(v));
    const inner = indent ? pad + ' '.repeat(indent) : '';
    const nl = indent ? '\n' : '';
    const colon = indent ? ': ' : ':';
    if (Array.isArray(v)) {
      if (v.length === 0) return void out.push('[]');
      out.push('[' + nl);
      v.forEach((x, i) => {
        out.push(inner);
        write(x, inner);
        out.push(i < v.length - 1 ? ',' + nl : nl);
      });
      out.push(pad + ']');
      return;
    }
    const o = v as Json;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    if (keys.length === 0) return void out.push('{}');
    out.push('{' + nl);
    keys.forEach((k, i) => {
      const x = o[k];
      if (x === null || typeof x !== 'object') out.push(inner + JSON.stringify(k) + colon + JSON.stringify(x));
      else {
        out.push(inner + JSON.stringify(k) + colon);
        write(x, inner);
      }
      if (i < keys.length - 1) out.push(',' + nl);
      else out.push(nl);
    });
    out.push(pad + '}');
  }
}

function noObject(x: unknown): boolean {
  return x === null || typeof x !== 'object' || (Array.isArray(x) && x.every((y) => y === null || typeof y !== 'object'));
}
