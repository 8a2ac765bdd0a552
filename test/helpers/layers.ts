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
    // `import 'tokenpipe'` from inside the package is the public API: src/index.ts, the top.
    if (spec === 'tokenpipe' || spec.startsWith('tokenpipe/')) out.push('src/index.ts');
    else if (spec.startsWith('./') || spec.startsWith('../')) {
      out.push(path.relative(root, path.resolve(root, path.dirname(rel), spec)).split(path.sep).join('/'));
    }
  }
  return out;
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
