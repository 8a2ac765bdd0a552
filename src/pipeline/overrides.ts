// `--set` overrides: `pack.seqLen=256` sets nodes.pack.with.seqLen, `settings.seed=3` a
// setting, `name=run2` the run name. Values are YAML scalars (or flow collections: `[a, b]`),
// so `256` is a number and `'256'` a string. Overrides are applied to the parsed file before
// validation, so the same schemas check them; each overridden path is remembered so that an
// issue about it points at the `--set` argument rather than at a line of the file.
import YAML from 'yaml';
import type { ConfigIssue } from '../util/config-issue.ts';
import { didYouMean, hint } from './suggest.ts';

type Path = Array<string | number>;

export interface AppliedOverride {
  /** The argument as given, `pack.seqLen=256`. */
  arg: string;
  path: Path;
}

/** Parse one `--set` argument into a file path and a value; `nodeNames` picks node vs settings. */
export function parseOverride(arg: string, nodeNames: string[]): { path: Path; value: unknown } | ConfigIssue {
  const bad = (message: string, suggestion?: string): ConfigIssue => ({ severity: 'error', code: 'override', message, path: [], override: arg, suggestion });
  const eq = arg.indexOf('=');
  if (eq <= 0) return bad("expected KEY=VALUE, e.g. pack.seqLen=256 or settings.seed=3");
  const keys = arg.slice(0, eq).split('.');
  if (keys.some((k) => k === '')) return bad(`bad key '${arg.slice(0, eq)}'`);
  const raw = arg.slice(eq + 1);
  let value: unknown;
  try {
    // An empty value is the empty string, not YAML's null.
    value = raw === '' ? '' : YAML.parse(raw);
  } catch (e) {
    return bad(`value is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (keys[0] === 'settings' || (keys[0] === 'name' && keys.length === 1)) return { path: keys, value };
  const [node, ...param] = keys;
  if (!nodeNames.includes(node)) {
    const s = didYouMean(node, [...nodeNames, 'settings']);
    return bad(`unknown node '${node}'${hint(s)}; write NODE.PARAM=VALUE or settings.KEY=VALUE`, s);
  }
  if (param.length === 0) return bad(`no param given: write ${node}.PARAM=VALUE`);
  return { path: ['nodes', node, 'with', ...param], value };
}

/**
 * Apply `--set` arguments to the parsed file object in place. Returns the overrides applied
 * and the issues of those that could not be.
 */
export function applyOverrides(data: Record<string, any>, args: string[]): { applied: AppliedOverride[]; issues: ConfigIssue[] } {
  const applied: AppliedOverride[] = [];
  const issues: ConfigIssue[] = [];
  const nodes = data.nodes && typeof data.nodes === 'object' ? Object.keys(data.nodes) : [];
  for (const arg of args) {
    const r = parseOverride(arg, nodes);
    if ('severity' in r) {
      issues.push(r);
      continue;
    }
    let obj: any = data;
    let ok = true;
    for (const [i, seg] of r.path.slice(0, -1).entries()) {
      if (obj[seg] === undefined || obj[seg] === null) obj[seg] = {};
      else if (typeof obj[seg] !== 'object' || Array.isArray(obj[seg])) {
        issues.push({ severity: 'error', code: 'override', message: `'${r.path.slice(0, i + 1).join('.')}' is not a map, cannot set a key under it`, path: r.path, override: arg });
        ok = false;
        break;
      }
      obj = obj[seg];
    }
    if (!ok) continue;
    obj[r.path.at(-1)!] = r.value;
    applied.push({ arg, path: r.path });
  }
  return { applied, issues };
}

/** The override an issue at `path` is about, if any (the value at or under an overridden path). */
export function overrideFor(path: Path, applied: AppliedOverride[]): AppliedOverride | undefined {
  let best: AppliedOverride | undefined;
  for (const o of applied) {
    if (o.path.length <= path.length && o.path.every((seg, i) => seg === path[i]) && (!best || o.path.length > best.path.length)) best = o;
  }
  return best;
}
