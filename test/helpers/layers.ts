// The layers of docs/architecture.md §2 as a table, and the check of the import graph against it.
// Every relative import, `export ... from` and literal dynamic `import('...')` in src/** and
// nodes/** must point to the same layer or one below it. The TypeScript scanner reads the
// imports (ts.preProcessFile), so an import inside a comment or a string is not one.
//
// Run it on any checkout:  node --import tsx test/helpers/layers.ts [ROOT]
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export interface Layer {
  name: string;
  /** Folders (ending in '/') or single files, relative to the repository root. */
  paths: string[];
  /** Bottom is 0. A layer may import its own rank and below. */
  rank: number;
  /** When set, the only layers it may import besides itself (below the rank rule). */
  only?: string[];
  why?: string;
}

// Bottom to top. src/tokenizer and src/data sit side by side in the architecture, but the packer
// tokenizes with the tokenizer's artifact, so data is the upper one: data may import tokenizer,
// tokenizer never imports data (it takes plain strings). src/adapter sits below src/train: a
// checkpoint is an adapter folder plus optimizer state, so the trainer writes and reads adapters,
// while saving, loading, applying and merging an adapter needs only the model library.
export const LAYERS: Layer[] = [
  { name: 'errors', paths: ['src/errors.ts'], rank: 0 },
  { name: 'util', paths: ['src/util/'], rank: 0 },
  { name: 'io', paths: ['src/io/'], rank: 1 },
  { name: 'model', paths: ['src/model/'], rank: 2 },
  { name: 'tokenizer', paths: ['src/tokenizer/'], rank: 3 },
  { name: 'data', paths: ['src/data/'], rank: 4 },
  { name: 'adapter', paths: ['src/adapter/'], rank: 5 },
  { name: 'train', paths: ['src/train/'], rank: 6 },
  { name: 'report', paths: ['src/report/'], rank: 7 },
  // Above the library in the stack only so that nodes/ sees both; it uses none of it.
  { name: 'pipeline', paths: ['src/pipeline/'], rank: 8, only: ['errors', 'util', 'io'], why: 'the framework knows no domain' },
  { name: 'nodes', paths: ['nodes/'], rank: 9 },
  { name: 'cli', paths: ['src/cli/', 'src/cli.ts', 'src/index.ts'], rank: 10 },
];

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

export function layerOf(rel: string): Layer | undefined {
  return LAYERS.find((l) => l.paths.some((p) => (p.endsWith('/') ? rel.startsWith(p) : rel === p)));
}

/** Every relative (or self-package `tokenpipe`) import of one file, resolved to root-relative paths. */
export function importsOf(root: string, rel: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(path.join(root, rel), 'utf8'), true, true);
  const out: string[] = [];
  for (const { fileName: spec } of importedFiles) {
    const target = resolveSpec(root, rel, spec);
    if (target) out.push(target);
  }
  return out;
}

/** A relative or self-package specifier as a root-relative path; undefined for a package. */
function resolveSpec(root: string, rel: string, spec: string): string | undefined {
  // `import 'tokenpipe'` from inside the package is the public API: src/index.ts, the top.
  if (spec === 'tokenpipe' || spec.startsWith('tokenpipe/')) return 'src/index.ts';
  if (spec.startsWith('./') || spec.startsWith('../')) return path.relative(root, path.resolve(root, path.dirname(rel), spec)).split(path.sep).join('/');
  return undefined;
}

/**
 * The imports of one file that load code at run time: like importsOf, without the type-only
 * ones (`import type`, `export type`, or named imports that are all `type X`), which vanish
 * when TypeScript is stripped and so cannot make a load-order cycle.
 */
export function valueImportsOf(root: string, rel: string): string[] {
  const sf = ts.createSourceFile(rel, readFileSync(path.join(root, rel), 'utf8'), ts.ScriptTarget.Latest, false);
  const specs: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const typeOnly = c && (c.isTypeOnly || (!c.name && c.namedBindings && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) specs.push(n.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      const e = n.exportClause;
      const typeOnly = n.isTypeOnly || (e && ts.isNamedExports(e) && e.elements.length > 0 && e.elements.every((x) => x.isTypeOnly));
      if (!typeOnly) specs.push(n.moduleSpecifier.text);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) {
      specs.push(n.arguments[0].text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return specs.map((s) => resolveSpec(root, rel, s)).filter((t): t is string => t !== undefined);
}

/**
 * Import cycles among the files of `dir` (value imports only), one line per strongly connected
 * group, its files sorted and joined by ' <-> '. Empty when the import graph is a DAG.
 */
export function importCycles(root: string, dir = 'src'): string[] {
  const files = sourceFiles(root, dir).sort();
  const known = new Set(files);
  const edges = new Map(files.map((f) => [f, valueImportsOf(root, f).filter((t) => known.has(t))]));
  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[] = [];
  let next = 0;
  const connect = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)!) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || edges.get(v)!.includes(v)) out.push(group.sort().join(' <-> '));
    }
  };
  for (const f of files) if (!index.has(f)) connect(f);
  return out.sort();
}

function sourceFiles(root: string, dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(path.join(root, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(root, rel);
    return SOURCE.test(e.name) ? [rel] : [];
  });
}

/**
 * Every import that breaks the layering, one line each, e.g.
 * `src/model/eval.ts -> src/train/loss.ts (model imports train)`, plus files and imports in no
 * known layer. Empty when the tree is layered.
 */
export function layerViolations(root: string): string[] {
  const out: string[] = [];
  for (const file of [...sourceFiles(root, 'src'), ...sourceFiles(root, 'nodes')].sort()) {
    const from = layerOf(file);
    if (!from) {
      out.push(`${file}: in no layer (unknown folder ${path.posix.dirname(file)}/)`);
      continue;
    }
    for (const target of importsOf(root, file)) {
      const to = layerOf(target);
      if (!to) out.push(`${file} -> ${target} (import of an unknown folder)`);
      else if (to.rank > from.rank) out.push(`${file} -> ${target} (${from.name} imports ${to.name})`);
      else if (from.only && to !== from && !from.only.includes(to.name)) out.push(`${file} -> ${target} (${from.name} imports ${to.name}: ${from.why})`);
    }
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..'));
  const v = layerViolations(root);
  for (const line of v) console.log(line);
  console.error(`${v.length} layering violation(s) in ${root}`);
  process.exitCode = v.length === 0 ? 0 : 1;
}
