// Turning zod's issues into ConfigIssues with "did you mean" hints. zod reports an unknown
// key without the allowed ones, so the schema is walked to the issue's path to find them.
import type { z } from 'zod';
import type { ConfigIssue } from '../util/config-issue.ts';
import { didYouMean, hint } from './suggest.ts';

type Path = Array<string | number>;
type AnySchema = z.core.$ZodType;
type Def = { type: string; [k: string]: any };

const def = (s: AnySchema): Def => (s as any)._zod.def as Def;

/** Strip wrappers that do not change which keys an object accepts. */
export function unwrap(s: AnySchema): AnySchema {
  for (;;) {
    const d = def(s);
    if (['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional'].includes(d.type)) s = d.innerType;
    else if (d.type === 'pipe') s = d.in;
    else if (d.type === 'lazy') s = d.getter();
    else return s;
  }
}

/** The schema that validates the value at `path` under `schema`, when it can be told. */
export function schemaAt(schema: AnySchema, path: Path): AnySchema | undefined {
  let s: AnySchema | undefined = schema;
  for (const seg of path) {
    if (!s) return undefined;
    const d = def(unwrap(s));
    if (d.type === 'object') s = d.shape[seg] ?? (d.catchall && def(d.catchall).type !== 'never' ? d.catchall : undefined);
    else if (d.type === 'record') s = d.valueType;
    else if (d.type === 'array') s = d.element;
    else if (d.type === 'tuple') s = typeof seg === 'number' ? d.items[seg] ?? d.rest : undefined;
    else return undefined;
  }
  return s;
}

/** Keys an object schema declares at `path` (undefined when it is not an object there). */
export function keysAt(schema: AnySchema, path: Path): string[] | undefined {
  const s = schemaAt(schema, path);
  if (!s) return undefined;
  const d = def(unwrap(s));
  return d.type === 'object' ? Object.keys(d.shape) : undefined;
}

function valueAt(data: unknown, path: Path): unknown {
  let v: any = data;
  for (const seg of path) v = v == null ? undefined : v[seg];
  return v;
}

/**
 * Keys that a plain `z.object` (which strips unknown keys silently) would drop. Strict objects
 * report these themselves; for plain ones a typo in a param would otherwise pass unnoticed.
 */
export function strayKeys(schema: AnySchema, value: unknown, path: Path = []): Array<{ path: Path; key: string }> {
  if (value === null || typeof value !== 'object') return [];
  const d = def(unwrap(schema));
  const out: Array<{ path: Path; key: string }> = [];
  if (d.type === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k in d.shape) out.push(...strayKeys(d.shape[k], v, [...path, k]));
      else if (d.catchall === undefined) out.push({ path, key: k });
    }
  } else if (d.type === 'array' && Array.isArray(value)) {
    value.forEach((v, i) => out.push(...strayKeys(d.element, v, [...path, i])));
  } else if (d.type === 'record' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) out.push(...strayKeys(d.valueType, v, [...path, k]));
  }
  return out;
}

export interface ZodIssueContext {
  /** Where the validated value sits in the pipeline file, e.g. ['nodes', 'pack', 'with']. */
  base: Path;
  /** What an unknown key is called here: 'param', 'setting', 'field'. */
  keyNoun: (path: Path) => string;
}

export function unknownKeyIssue(schema: AnySchema, at: Path, key: string, ctx: ZodIssueContext): ConfigIssue {
  const suggestion = didYouMean(key, keysAt(schema, at) ?? []);
  const noun = ctx.keyNoun(at);
  return {
    severity: 'error',
    code: noun === 'param' ? 'unknown-param' : 'unknown-key',
    message: `unknown ${noun} '${key}'${hint(suggestion)}`,
    path: [...ctx.base, ...at, key],
    suggestion,
  };
}

/** ConfigIssues for one failed `safeParse` of `data` by `schema`. */
export function zodIssues(schema: AnySchema, data: unknown, issues: readonly z.core.$ZodIssue[], ctx: ZodIssueContext, prefix: Path = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const at = [...prefix, ...(issue.path as Path)];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push(unknownKeyIssue(schema, at, key, ctx));
    } else if (issue.code === 'invalid_union') {
      // Keep the errors of the branch whose type matched (a map `from:` with a bad ref),
      // rather than zod's bare "Invalid input".
      const matched = issue.errors.filter((branch) => !branch.some((e) => e.code === 'invalid_type' && e.path.length === 0));
      if (matched.length === 1) out.push(...zodIssues(schema, data, matched[0], ctx, at));
      else out.push({ severity: 'error', code: 'schema', message: issue.message, path: [...ctx.base, ...at] });
    } else if (issue.code === 'invalid_key') {
      const msg = issue.issues.map((i) => i.message).join('; ');
      out.push({ severity: 'error', code: 'schema', message: `bad name '${String(at.at(-1))}': ${msg}`, path: [...ctx.base, ...at] });
    } else if (issue.code === 'invalid_value' && issue.values.every((v) => typeof v === 'string')) {
      const got = valueAt(data, at);
      const suggestion = typeof got === 'string' ? didYouMean(got, issue.values as string[]) : undefined;
      out.push({ severity: 'error', code: 'schema', message: `${issue.message}${hint(suggestion)}`, path: [...ctx.base, ...at], suggestion });
    } else if (issue.code === 'invalid_type' && valueAt(data, at) === undefined) {
      out.push({ severity: 'error', code: 'schema', message: `missing required field (expected ${issue.expected})`, path: [...ctx.base, ...at] });
    } else {
      out.push({ severity: 'error', code: 'schema', message: issue.message, path: [...ctx.base, ...at] });
    }
  }
  return out;
}
