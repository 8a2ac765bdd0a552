// Finding node definitions: built-ins are the files nodes/<name>.ts (each `export default
// defineNode(...)`); anything else in `use:` is a path to a user module, resolved against the
// pipeline file's folder. Both end as {def, modulePath, exportName}, which is also what a
// worker thread needs to import the same def by itself.
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeModuleInvalid } from '../errors.ts';
import { operatorShaped, type NodeDef } from './node.ts';
import { registerLoaders } from './loaders.mjs';
import { didYouMean, hint } from './suggest.ts';

export const BUILTIN_DIR = fileURLToPath(new URL('../../nodes/', import.meta.url));
const MODULE_EXT = /\.(ts|mts|js|mjs)$/;
/** The file of the built-in folder that registers the built-in item kinds (kinds.ts). */
const KINDS_FILE = '_kinds.ts';

/** './x.ts', '../x.js', '/abs/x.ts' or 'file:///...' name a module; anything else a built-in. */
export function isModulePath(use: string): boolean {
  return use.startsWith('./') || use.startsWith('../') || use.startsWith('file:') || path.isAbsolute(use);
}

function builtinFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(dir)) return files;
  for (const f of readdirSync(dir).sort()) {
    // '_helpers.ts' and declaration files are not nodes.
    if (!MODULE_EXT.test(f) || f.startsWith('_') || f.endsWith('.d.ts') || f.includes('.test.')) continue;
    const name = f.replace(MODULE_EXT, '');
    if (!files.has(name)) files.set(name, path.join(dir, f));
  }
  return files;
}

/** Names usable in `use:`, from the file names (nothing is imported). */
export function builtinNames(dir = BUILTIN_DIR): string[] {
  return [...builtinFiles(dir).keys()];
}

/**
 * Registers the built-in item kinds (imports <dir>/_kinds.ts when there is one), so a graph is
 * checked against them even when no built-in node is used: a user node's 'train-state' port is
 * linear too. Reached by path, as the built-in nodes are: the framework imports no domain module.
 */
export async function loadBuiltinKinds(dir = BUILTIN_DIR): Promise<void> {
  const file = path.join(dir, KINDS_FILE);
  if (!existsSync(file)) return;
  registerLoaders();
  await import(pathToFileURL(file).href);
}

/** What is wrong with a value that should be a node definition (empty when it is one). */
export function checkNodeDef(x: unknown): string[] {
  if (x === null || typeof x !== 'object') return [`expected a node definition (defineNode({...})), got ${x === null ? 'null' : typeof x}`];
  const d = x as Record<string, any>;
  const problems: string[] = [];
  if (typeof d.name !== 'string' || !d.name) problems.push("'name' must be a non-empty string");
  if (typeof d.description !== 'string') problems.push("'description' must be a string");
  if (!d.params || typeof d.params.safeParse !== 'function') problems.push("'params' must be a zod schema");
  for (const side of ['inputs', 'outputs'] as const) {
    const ports = d[side];
    if (!ports || typeof ports !== 'object') {
      problems.push(`'${side}' must be an object of ports ({} for none)`);
      continue;
    }
    for (const [p, spec] of Object.entries<any>(ports)) {
      if (!spec || (spec.kind !== 'stream' && spec.kind !== 'value')) problems.push(`${side}.${p}.kind must be 'stream' or 'value'`);
      if (!spec || typeof spec.item !== 'string' || !spec.item) problems.push(`${side}.${p}.item must be a non-empty string ('*' for anything)`);
    }
  }
  if (d.placement === 'main') {
    const hasRun = typeof d.run === 'function';
    const hasOperator = typeof d.operator === 'function';
    if (!hasRun && !hasOperator) problems.push("a 'main' node needs a run(inputs, ctx) function (or an RxJS operator(params, ctx))");
    if (hasRun && hasOperator) problems.push("a 'main' node has run() or operator(), not both");
    if (hasOperator && !operatorShaped(d.inputs, d.outputs)) problems.push('an operator node has exactly one input and one output, both streams');
  } else if (d.placement === 'worker') {
    if (typeof d.process !== 'function') problems.push("a 'worker' node needs a process(item, params, ctx) function");
    if (d.init !== undefined && typeof d.init !== 'function') problems.push("'init' must be a function");
    const ins = Object.values<any>(d.inputs ?? {});
    const outs = Object.values<any>(d.outputs ?? {});
    // Value inputs (a tokenizer, say) reach init(params, values) on every thread; items come
    // from the one stream input.
    if (ins.filter((p) => p?.kind === 'stream').length !== 1) problems.push('a worker node has exactly one stream input (value inputs may be added)');
    if (outs.length !== 1) problems.push('a worker node has exactly one output');
  } else {
    problems.push("'placement' must be 'main' or 'worker'");
  }
  return problems;
}

export interface LoadedNodeModule {
  def: NodeDef;
  /** Absolute path of the module file. */
  modulePath: string;
  exportName: string;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/**
 * Node loads a .js file as CommonJS unless the nearest package.json says "type": "module"; a
 * node file must be an ES module, and the errors Node gives then (require of 'tokenpipe'
 * failing, "Cannot require() ES Module in a cycle") do not say so.
 */
function commonJsHint(file: string): string {
  if (!file.endsWith('.js')) return '';
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      let type: unknown;
      try {
        type = (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: unknown }).type;
      } catch {
        return '';
      }
      return type === 'module' ? '' : ` (a .js node file is CommonJS under ${pkg}: rename it to .mjs or add "type": "module" to that package.json)`;
    }
    if (path.dirname(dir) === dir) return ` (a .js node file with no package.json above it is CommonJS: rename it to .mjs or add a package.json with "type": "module" beside it)`;
  }
}

/** Import `file` and check that `exportName` of it is a node definition. */
export async function importNodeModule(file: string, exportName = 'default', label = file): Promise<LoadedNodeModule> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new NodeModuleInvalid(label, `no such file: ${file}`);
  // tsx plus the hook that lets a module outside this repository import 'tokenpipe' and zod.
  registerLoaders();
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    throw new NodeModuleInvalid(label, `cannot import ${file}: ${firstLine(e)}${commonJsHint(file)}`, { cause: e });
  }
  if (!(exportName in mod)) {
    const names = Object.keys(mod);
    const why = exportName === 'default' ? 'has no default export' : `has no export '${exportName}'${hint(didYouMean(exportName, names))}`;
    throw new NodeModuleInvalid(label, `${why} (exports: ${names.join(', ') || 'none'}); set 'export:' to the one holding the node`);
  }
  const problems = checkNodeDef(mod[exportName]);
  if (problems.length) throw new NodeModuleInvalid(label, `export '${exportName}' is not a node definition: ${problems.join('; ')}`);
  return { def: mod[exportName] as NodeDef, modulePath: file, exportName };
}

export interface ResolveOptions {
  /** Folder that relative module paths are resolved against (the pipeline file's). */
  baseDir: string;
  exportName?: string;
  builtinDir?: string;
}

/** The node def named by a `use:` value: a built-in name or a module path. */
export async function resolveNodeModule(use: string, opts: ResolveOptions): Promise<LoadedNodeModule> {
  if (isModulePath(use)) {
    const file = use.startsWith('file:') ? fileURLToPath(use) : path.resolve(opts.baseDir, use);
    return importNodeModule(file, opts.exportName ?? 'default', use);
  }
  const files = builtinFiles(opts.builtinDir ?? BUILTIN_DIR);
  const file = files.get(use);
  if (!file) {
    const asFile = MODULE_EXT.test(use) ? ` (for a module next to the pipeline file write './${use}')` : '';
    throw new NodeModuleInvalid(use, `unknown node type '${use}'${hint(didYouMean(use, files.keys()))}${asFile}`);
  }
  return importNodeModule(file, opts.exportName ?? 'default', use);
}

export interface BuiltinEntry {
  name: string;
  file: string;
  def?: NodeDef;
  /** Why the module could not be used; the listing goes on with the other nodes. */
  error?: string;
  warning?: string;
}

/** Every built-in node, imported one by one so that one broken module does not hide the rest. */
export async function listBuiltinNodes(dir = BUILTIN_DIR): Promise<BuiltinEntry[]> {
  const out: BuiltinEntry[] = [];
  for (const [name, file] of builtinFiles(dir)) {
    try {
      const { def } = await importNodeModule(file, 'default', name);
      out.push({ name, file, def, warning: def.name === name ? undefined : `def.name is '${def.name}' but the file is named ${name}` });
    } catch (e) {
      out.push({ name, file, error: e instanceof NodeModuleInvalid ? e.message.slice(name.length + 2) : firstLine(e) });
    }
  }
  return out;
}
