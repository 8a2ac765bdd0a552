// Loading a pipeline file: YAML (with positions) -> overrides -> zod schemas -> node modules
// -> params -> input paths (they exist, and pass their node's checks) -> run paths (inside the
// run folder, one writer each: run-paths.ts) -> graph -> ResolvedPipeline. It collects every problem it can find rather than
// stopping at the first, and gives each one file:line:column and its field path.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import YAML, { isMap, isScalar, isSeq, LineCounter, type Document, type Node as YamlNode } from 'yaml';
import { ConfigInvalid, NodeModuleInvalid } from '../errors.ts';
import { type ConfigIssue } from '../util/config-issue.ts';
import { buildGraph, type GraphNode } from './graph.ts';
import { schemaAt, strayKeys, unknownKeyIssue, unwrap, zodIssues } from './issues.ts';
import { applyOverrides, overrideFor, type AppliedOverride } from './overrides.ts';
import { inputIssues, inputPaths } from './input-paths.ts';
import { graphIssues } from './graph-checks.ts';
import { outputDirProblem, runPathIssues, runPathsOf, type NodeRunPaths } from './run-paths.ts';
import { isModulePath, builtinNames, loadBuiltinKinds, resolveNodeModule, type LoadedNodeModule } from './registry.ts';
import type { ResolvedNode, ResolvedPipeline } from './resolved.ts';
import { inputPathSpec, isPathString, NodeSpecSchema, PipelineFileSchema, SettingsSchema, withPathBase, type NodeSpec } from './schema.ts';
import { didYouMean, hint } from './suggest.ts';

type Path = Array<string | number>;

export interface LoadOptions {
  /** `--set` arguments: 'pack.seqLen=256', 'settings.seed=3'. */
  overrides?: string[];
  /** Folder of built-in nodes (default: the repository's nodes/). */
  builtinDir?: string;
  /** Against which `settings.outputDir` is resolved (default: process.cwd()). */
  cwd?: string;
}

export interface CheckResult {
  /** Absolute path of the pipeline file. */
  file: string;
  /** Present when there is no error (warnings allowed). */
  pipeline?: ResolvedPipeline;
  /** Errors and warnings in file order; override issues first. */
  issues: ConfigIssue[];
}

/** Check a pipeline file; never throws for problems in the file (they are issues). */
export async function checkPipeline(file: string, opts: LoadOptions = {}): Promise<CheckResult> {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    return { file: path.resolve(file), issues: [{ severity: 'error', code: 'file', message: why, path: [], file }] };
  }
  return checkPipelineSource(source, file, opts);
}

/** Load a pipeline file, throwing ConfigInvalid (with every issue) if it has errors. */
export async function loadPipeline(file: string, opts: LoadOptions = {}): Promise<ResolvedPipeline> {
  return orThrow(await checkPipeline(file, opts));
}

/** Like loadPipeline, for pipeline text in memory; `file` names it in messages and anchors relative `use:` paths. */
export async function loadPipelineSource(source: string, file: string, opts: LoadOptions = {}): Promise<ResolvedPipeline> {
  return orThrow(await checkPipelineSource(source, file, opts));
}

function orThrow(r: CheckResult): ResolvedPipeline {
  if (!r.pipeline) throw new ConfigInvalid(r.issues);
  return r.pipeline;
}

export async function checkPipelineSource(source: string, file: string, opts: LoadOptions = {}): Promise<CheckResult> {
  const abs = path.resolve(file);
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const issues: ConfigIssue[] = [];
  const at = (offset: number) => lineCounter.linePos(offset);
  for (const e of [...doc.errors, ...doc.warnings]) {
    const { line, col } = at(e.pos[0]);
    const severity = doc.errors.includes(e as any) ? 'error' : 'warning';
    issues.push({ severity, code: 'yaml', message: `${e.message.split('\n')[0]} (${e.code})`, path: [], line, column: col });
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // The yaml library only says "Merge sources must be maps..." for `<<: *typo`: name the alias and where it is.
    const unknown: ConfigIssue[] = [];
    YAML.visit(doc, {
      Alias(_, node) {
        if (node.resolve(doc) === undefined && node.range) {
          const { line, col } = at(node.range[0]);
          unknown.push({ severity: 'error', code: 'yaml', message: `unknown anchor: *${node.source} (no &${node.source} before it)`, path: [], line, column: col });
        }
      },
    });
    issues.push(...(unknown.length ? unknown : [{ severity: 'error' as const, code: 'yaml', message: (e as Error).message.split('\n')[0], path: [] }]));
  }
  let applied: AppliedOverride[] = [];
  let pipeline: ResolvedPipeline | undefined;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    if (!issues.length) issues.push({ severity: 'error', code: 'schema', message: 'expected a map with name, settings and nodes', path: [], line: 1, column: 1 });
  } else {
    const o = applyOverrides(normalize(data as Record<string, any>), opts.overrides ?? []);
    applied = o.applied;
    issues.push(...o.issues);
    pipeline = await resolve(data as Record<string, any>, abs, opts, issues, applied);
  }

  for (const i of issues) {
    i.file ??= file;
    const o = overrideFor(i.path, applied);
    if (o) i.override = o.arg;
    else if (i.line === undefined && !i.override) Object.assign(i, locate(doc, lineCounter, i.path, i.code === 'unknown-key' || i.code === 'unknown-param'));
  }
  issues.sort((a, b) => (a.override ? 0 : 1) - (b.override ? 0 : 1) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  const ok = !issues.some((i) => i.severity === 'error');
  return { file: abs, pipeline: ok ? pipeline : undefined, issues };
}

/** `with:` or `settings:` left empty in YAML is null; treat it as an empty map. */
function normalize(data: Record<string, any>): Record<string, any> {
  if (data.settings === null) delete data.settings;
  if (data.nodes && typeof data.nodes === 'object') {
    for (const spec of Object.values<any>(data.nodes)) if (spec && typeof spec === 'object' && spec.with === null) delete spec.with;
  }
  return data;
}

const keyNoun = (p: Path): string => (p[0] === 'settings' ? 'setting' : 'field');

async function resolve(
  data: Record<string, any>,
  abs: string,
  opts: LoadOptions,
  issues: ConfigIssue[],
  applied: AppliedOverride[],
): Promise<ResolvedPipeline | undefined> {
  // The whole-file parse reports top-level and per-node shape problems; the parts are then
  // parsed one by one so that a bad node does not hide the problems of the others.
  const whole = PipelineFileSchema.safeParse(data);
  if (!whole.success) issues.push(...zodIssues(PipelineFileSchema, data, whole.error.issues, { base: [], keyNoun }));
  const settings = SettingsSchema.safeParse(data.settings ?? {});
  const rawNodes: Record<string, unknown> = data.nodes && typeof data.nodes === 'object' && !Array.isArray(data.nodes) ? data.nodes : {};
  const builtins = builtinNames(opts.builtinDir);

  const loaded = new Map<string, { spec: NodeSpec; mod?: LoadedNodeModule; params?: unknown }>();
  // Where each node writes in the run folder: checked together once every node is parsed.
  const runPaths: NodeRunPaths[] = [];
  // Input paths are checked once per path (and per check) across nodes.
  const memo = new Map<string, Promise<string | undefined>>();
  for (const [name, raw] of Object.entries(rawNodes)) {
    // A spec with a problem (already reported by the whole-file parse) is still checked as far
    // as it goes: its module and params may have errors of their own.
    const parsed = NodeSpecSchema.safeParse(raw);
    const spec = parsed.success ? parsed : salvage(raw);
    if (!spec) continue;
    const entry: { spec: NodeSpec; mod?: LoadedNodeModule; params?: unknown } = { spec: spec.data };
    loaded.set(name, entry);
    const base = ['nodes', name];
    const use = spec.data.use;
    if (!isModulePath(use) && !builtins.includes(use)) {
      const s = didYouMean(use, builtins);
      const asFile = /\.(m?ts|m?js)$/.test(use) ? ` (for a module next to the pipeline file write './${use}')` : '';
      issues.push({ severity: 'error', code: 'unknown-node', message: `unknown node type '${use}'${hint(s)}${asFile}`, path: [...base, 'use'], suggestion: s });
      continue;
    }
    try {
      entry.mod = await resolveNodeModule(use, { baseDir: path.dirname(abs), exportName: spec.data.export, builtinDir: opts.builtinDir });
    } catch (e) {
      if (!(e instanceof NodeModuleInvalid)) throw e;
      issues.push({ severity: 'error', code: 'node-module', message: e.message, path: [...base, spec.data.export ? 'export' : 'use'] });
      continue;
    }
    const def = entry.mod.def;
    const rawWith = (raw as Record<string, unknown>).with;
    if (rawWith !== undefined && (rawWith === null || typeof rawWith !== 'object' || Array.isArray(rawWith))) continue; // reported: not a map
    const withBase = [...base, 'with'];
    const ctx = { base: withBase, keyNoun: () => 'param' };
    for (const o of applied) {
      if (o.path[1] === name && o.path[2] === 'with') {
        const siblingGiven = (key: string) => applied.some((a) => a.path[1] === name && a.path[2] === 'with' && a.path[3] === key && a.path.length === 4);
        cwdRelative(def.params, o.path.slice(3), spec.data.with, opts.cwd ?? process.cwd(), path.dirname(abs), siblingGiven);
      }
    }
    const params = withPathBase(path.dirname(abs), () => def.params.safeParse(spec.data.with));
    if (params.success) {
      entry.params = params.data;
      // Before any node runs: a missing corpus or model folder is found now, not after work.
      issues.push(...(await inputIssues(inputPaths(def.params, params.data, path.dirname(abs)), withBase, memo)));
      const given = (at: Path) => at.reduce<any>((v, k) => (v && typeof v === 'object' ? v[k] : undefined), spec.data.with) !== undefined;
      runPaths.push({ node: name, params: runPathsOf(def.params, params.data).map((r) => ({ ...r, explicit: given(r.at) })), fixed: def.runFiles?.(name) ?? [] });
    } else issues.push(...zodIssues(def.params, spec.data.with, params.error.issues, ctx));
    for (const stray of strayKeys(def.params, spec.data.with)) issues.push(unknownKeyIssue(def.params, stray.path, stray.key, ctx));
    if (spec.data.onError === 'reject' && !def.canReject)
      issues.push({ severity: 'error', code: 'schema', message: `node type '${def.name}' cannot send failing items to the rejects file`, path: [...base, 'onError'] });
  }

  issues.push(...runPathIssues(runPaths));

  await loadBuiltinKinds(opts.builtinDir);
  const graphNodes: GraphNode[] = Object.entries(rawNodes).map(([name, raw]) => ({ name, def: loaded.get(name)?.mod?.def, from: loaded.get(name)?.spec.from ?? rawFrom(raw) }));
  const graph = buildGraph(graphNodes);
  issues.push(...graph.issues);

  const outputDir = settings.success ? path.resolve(opts.cwd ?? process.cwd(), settings.data.outputDir) : undefined;
  const unwritable = outputDir ? outputDirProblem(outputDir) : undefined;
  if (unwritable) issues.push({ severity: 'error', code: 'output-dir', message: unwritable, path: ['settings', 'outputDir'] });

  if (!whole.success || !settings.success || issues.some((i) => i.severity === 'error')) return undefined;
  // Checks that read other nodes' params (the packer's seqLen against the train node's model).
  issues.push(...(await graphIssues(graph.order.map((name) => ({ name, def: loaded.get(name)!.mod!.def, params: loaded.get(name)!.params })), graph.from)));
  if (issues.some((i) => i.severity === 'error')) return undefined;
  const nodes: ResolvedNode[] = graph.order.map((name) => {
    const { spec, mod, params } = loaded.get(name)!;
    return { name, def: mod!.def, modulePath: mod!.modulePath, exportName: mod!.exportName, params, from: graph.from.get(name)!, onError: spec.onError };
  });
  return {
    name: whole.data.name ?? runNameFromFile(abs),
    file: abs,
    settings: { ...settings.data, outputDir: outputDir! },
    nodes,
  };
}

/**
 * A path given with --set is typed relative to the shell's current directory, not to the
 * pipeline file: make it absolute before the params parse resolves it against the file. A path
 * relative to a sibling param (the corpus reader's `paths`, relative to its `cwd`) is rewritten
 * relative to that base, so the node still sees a relative name; when the sibling is itself given
 * with --set, the path is relative to it, as the param says.
 */
function cwdRelative(
  schema: z.core.$ZodType, at: Path, params: Record<string, unknown>, cwd: string, fileDir: string, siblingGiven: (key: string) => boolean,
): void {
  const s = schemaAt(schema, at);
  if (!s || at.length === 0) return;
  const inner = unwrap(s);
  const d = (inner as any)._zod.def;
  const elementIsPath = d.type === 'array' && isPathString(unwrap(d.element));
  const relativeTo = siblingBase(inner);
  if (!isPathString(inner) && !elementIsPath && !relativeTo) return;
  let parent: any = params;
  for (const seg of at.slice(0, -1)) parent = parent?.[seg];
  if (!parent || typeof parent !== 'object') return;
  const key = at.at(-1)!;
  let fix = (v: string) => path.resolve(cwd, v);
  if (relativeTo) {
    if (siblingGiven(relativeTo)) return;
    const sibling = parent[relativeTo];
    const base = path.resolve(fileDir, typeof sibling === 'string' ? sibling : '.');
    fix = (v) => path.relative(base, path.resolve(cwd, v)) || '.';
  }
  const abs = (v: unknown) => (typeof v === 'string' && v !== '' && !path.isAbsolute(v) ? fix(v) : v);
  parent[key] = Array.isArray(parent[key]) ? parent[key].map(abs) : abs(parent[key]);
}

/** The sibling param a path (or list of paths, or either) is relative to: InputPathSpec.relativeTo. */
function siblingBase(s: z.core.$ZodType): string | undefined {
  const d = (s as any)._zod.def;
  const direct = inputPathSpec(s)?.relativeTo;
  if (direct) return direct;
  if (d.type === 'array') return siblingBase(unwrap(d.element));
  if (d.type === 'union') for (const o of d.options) { const r = siblingBase(unwrap(o)); if (r) return r; }
  return undefined;
}

/** The usable parts of an invalid node spec, when `use:` at least is a string. */
function salvage(raw: unknown): { data: NodeSpec } | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.use !== 'string' || !r.use) return undefined;
  const w = r.with;
  return {
    data: {
      use: r.use,
      export: typeof r.export === 'string' && r.export ? r.export : undefined,
      from: rawFrom(raw),
      with: w && typeof w === 'object' && !Array.isArray(w) ? (w as Record<string, unknown>) : {},
      onError: r.onError === 'reject' ? 'reject' : 'fail',
    },
  };
}

/** `from:` of a node whose spec is invalid elsewhere, so the graph still sees its edges. */
function rawFrom(raw: unknown): NodeSpec['from'] {
  const r = NodeSpecSchema.shape.from.safeParse(raw && typeof raw === 'object' ? (raw as Record<string, unknown>).from : undefined);
  return r.success ? r.data : undefined;
}

function runNameFromFile(file: string): string {
  return path.basename(file).replace(/\.ya?ml$/i, '').replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'run';
}

/**
 * Line and column (1-based) for a field path. Missing fields point at their nearest
 * ancestor's key; unknown keys at the key itself; other problems at the value.
 */
function locate(doc: Document, lc: LineCounter, p: Path, preferKey: boolean): { line?: number; column?: number } {
  let node: unknown = doc.contents;
  let keyNode: YamlNode | undefined;
  let complete = true;
  for (const seg of p) {
    if (isMap(node)) {
      const pair = node.items.find((it) => (isScalar(it.key) ? String(it.key.value) : String(it.key)) === String(seg));
      if (!pair) {
        complete = false;
        break;
      }
      keyNode = pair.key as YamlNode;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      keyNode = undefined;
      node = node.items[seg];
    } else {
      complete = false;
      break;
    }
  }
  const pos = (n: unknown): number | undefined => (n && typeof n === 'object' && 'range' in n ? (n as YamlNode).range?.[0] : undefined);
  const offset = complete && !preferKey && isScalar(node) ? pos(node) ?? pos(keyNode) : pos(keyNode) ?? pos(node);
  if (offset === undefined) return {};
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}
