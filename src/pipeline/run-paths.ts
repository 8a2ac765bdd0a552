// Paths inside the run folder: the params declared with runPath() (where a node writes: the
// adapter, the checkpoints, a report), checked by the loader before any node runs. A value must
// stay inside the run folder, must not be the run folder itself, and must not lie on a path
// something else in the run writes: the run's own record (pipeline.json, events.jsonl, ...),
// the files a node writes under fixed names (NodeDef.runFiles: train.log, records/, ...), or
// another runPath writer. So `adapterDir: .` or `../../victim` is an error at file:line:col,
// never a folder replaced. The folder run folders go in (settings.outputDir) must be one that can
// be made: outputDirProblem.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import type { ConfigIssue } from '../util/config-issue.ts';
import { walkParams, type ParamPath } from './param-walk.ts';
import { runPathSpec, type RunPathSpec } from './schema.ts';

/** The files the framework itself keeps in every run folder (run.ts, run-record.ts). */
export const RUN_RECORD_FILES = ['pipeline.json', 'legs.jsonl', 'events.jsonl', 'rejects.jsonl', 'run.lock'];

export interface RunPathParam {
  /** Where the value sits under the node's params, e.g. ['adapterDir']. */
  at: ParamPath;
  value: string;
  spec: RunPathSpec;
  /** Written in the file or with --set (not a default): where a clash between two writers is reported. */
  explicit?: boolean;
}

/** Every runPath() param of one node's parsed params, in schema order. */
export function runPathsOf(schema: z.core.$ZodType, params: unknown): RunPathParam[] {
  const out: RunPathParam[] = [];
  walkParams(schema, params, (s, value, at) => {
    const spec = runPathSpec(s);
    if (!spec) return false;
    if (typeof value === 'string') out.push({ at, value, spec });
    return true;
  });
  return out;
}

/** One node's run paths, and the fixed names it writes (NodeDef.runFiles). */
export interface NodeRunPaths {
  node: string;
  params: RunPathParam[];
  fixed: string[];
}

/** `a/b/` -> `a/b`; undefined when the value leaves the run folder or is absolute. */
function inside(value: string): string | undefined {
  if (path.isAbsolute(value) || path.win32.isAbsolute(value)) return undefined;
  const n = path.posix.normalize(value.replace(/\\/g, '/')).replace(/\/+$/, '');
  return n === '..' || n.startsWith('../') ? undefined : n;
}

/** What a value problem is, or undefined when the value is a path inside the run folder. */
function valueProblem(value: string): string | undefined {
  const example = "a name inside it such as 'adapter'";
  if (path.isAbsolute(value) || path.win32.isAbsolute(value)) return `'${value}' is absolute: nodes write only inside the run folder; give a path relative to it (${example})`;
  const n = inside(value);
  if (n === undefined) return `'${value}' leaves the run folder: nodes write only inside it; give ${example}`;
  if (n === '.' || n === '') return `'${value}' is the run folder itself, which holds the whole run; give ${example}`;
  return undefined;
}

/** The paths a writer writes, relative to the run folder (a report stem with each suffix). */
function targets(p: RunPathParam, n: string): string[] {
  if (p.spec.kind === 'dir' || !p.spec.suffixes?.length) return [n];
  const suffixes = p.spec.suffixes;
  const stem = suffixes.reduce((s, x) => (s.endsWith(x) ? s.slice(0, -x.length) : s), n);
  return suffixes.map((x) => stem + x);
}

/** One path is the other, or lies inside it. */
const overlaps = (a: string, b: string) => a === b || a.startsWith(b + '/') || b.startsWith(a + '/');

const formatAt = (at: ParamPath) => at.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');

/** ConfigIssues for the run paths of every node of a pipeline (each at ['nodes', node, 'with', ...at]). */
export function runPathIssues(nodes: NodeRunPaths[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const error = (node: string, at: ParamPath, message: string) =>
    issues.push({ severity: 'error', code: 'run-path', message, path: ['nodes', node, 'with', ...at] });
  // Everything written in the run folder, and by whom.
  const claims = RUN_RECORD_FILES.map((f) => ({ path: f, by: `the run's own record (${f})` }));
  for (const n of nodes) for (const f of n.fixed) claims.push({ path: inside(f) ?? f, by: `node '${n.node}' (it writes ${f})` });
  const writers: Array<{ node: string; p: RunPathParam; paths: string[] }> = [];
  for (const n of nodes) {
    for (const p of n.params) {
      const problem = valueProblem(p.value);
      if (problem) {
        error(n.node, p.at, problem);
        continue;
      }
      if (p.spec.writes !== false) writers.push({ node: n.node, p, paths: targets(p, inside(p.value)!) });
    }
  }
  for (const w of writers) {
    for (const c of claims) {
      const hit = w.paths.find((t) => overlaps(t, c.path));
      if (hit) error(w.node, w.p.at, `'${w.p.value}' is taken by ${c.by}: choose another name`);
    }
  }
  // Two writers on one path: reported once, on the one the user wrote (the later one when both or neither).
  writers.forEach((w, i) => {
    for (const o of writers.slice(i + 1)) {
      if (!w.paths.some((t) => o.paths.some((u) => overlaps(t, u)))) continue;
      const [at, other] = w.p.explicit && !o.p.explicit ? [w, o] : [o, w];
      error(at.node, at.p.at, `'${at.p.value}' overlaps '${other.p.value}', where node '${other.node}' writes (${formatAt(other.p.at)}): two writers would overwrite each other`);
    }
  });
  return issues;
}

/**
 * Why run folders cannot be made under `dir`, or undefined: the nearest existing entry on its
 * path must be a folder on a writable file system (a file on the way, or a read-only mount, would
 * fail the run's first mkdir for any user). Permissions are left to the run (its one-line error):
 * they depend on who runs it.
 */
export function outputDirProblem(dir: string): string | undefined {
  let at = dir;
  while (!existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  const st = statSync(at, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (!st.isDirectory()) return `${dir}: cannot create run folders there: ${at} is a file, not a folder`;
  try {
    accessSync(at, constants.W_OK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EROFS') return `${dir}: cannot create run folders there: ${at} is on a read-only file system`;
  }
  return undefined;
}
