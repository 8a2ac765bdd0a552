// Input paths: the params declared with pathParam({mustExist}) in a node's schema, found by
// walking the schema next to the parsed params. The loader checks them before any node runs
// (a missing corpus should not be found after reading a model, nor a missing model after
// reading the whole corpus), and `--resume` compares their fingerprints with the first leg's.
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';
import type { z } from 'zod';
import type { ConfigIssue } from '../util/config-issue.ts';
import { walkParams, type ParamPath } from './param-walk.ts';
import { inputPathSpec, type InputPathSpec } from './schema.ts';

type Path = ParamPath;

export interface InputPath {
  /** Where the value sits under the node's params, e.g. ['paths', 0]. */
  at: Path;
  /** As written (globs), or absolute (pathParam resolves it). */
  value: string;
  /** Folder a relative value is relative to. */
  base: string;
  spec: InputPathSpec;
}

/** Every input path of one node's parsed params, in schema order. */
export function inputPaths(schema: z.core.$ZodType, params: unknown, pipelineDir: string): InputPath[] {
  const out: InputPath[] = [];
  walkParams(schema, params, (s, value, at, parent) => {
    const spec = inputPathSpec(s);
    if (!spec) return false;
    if (typeof value === 'string') {
      const sibling = spec.relativeTo ? parent?.[spec.relativeTo] : undefined;
      const base = typeof sibling === 'string' ? path.resolve(pipelineDir, sibling) : pipelineDir;
      out.push({ at, value, base, spec });
    }
    return true;
  });
  return out;
}

/** The absolute path of a file or folder input (a glob stays a pattern under its base). */
export function absolute(ip: InputPath): string {
  return path.resolve(ip.base, ip.value);
}

const kind = { file: 'file', dir: 'folder', glob: 'file' } as const;

/** Files a glob input matches (a literal file name wins over reading it as a pattern), sorted. */
export async function globMatches(ip: InputPath): Promise<string[]> {
  const literal = absolute(ip);
  if ((await stat(literal).catch(() => null))?.isFile()) return [literal];
  const found = await fg(ip.value, { cwd: ip.base, onlyFiles: true, dot: false, absolute: true });
  return found.sort();
}

/**
 * What is wrong with one input path, or undefined. `memo` shares the answers within one check
 * of a pipeline (three nodes reading one model folder load its tokenizer once).
 */
export async function inputProblem(ip: InputPath, memo: Map<string, Promise<string | undefined>>): Promise<string | undefined> {
  const key = `${ip.spec.mustExist}\0${ip.base}\0${ip.value}`;
  const exists = memo.get(key) ?? memo.set(key, problemOf(ip)).get(key)!;
  const problem = await exists;
  const check = ip.spec.check;
  if (problem || !check) return problem;
  const k = `${key}\0${checkId(check)}`;
  return memo.get(k) ?? memo.set(k, runCheck(check, absolute(ip))).get(k)!;
}

async function problemOf(ip: InputPath): Promise<string | undefined> {
  if (ip.spec.mustExist === 'glob') {
    return (await globMatches(ip)).length > 0 ? undefined : `no file matches '${ip.value}' (relative to ${ip.base})`;
  }
  const abs = absolute(ip);
  const st = await stat(abs).catch(() => null);
  // A check knows best what was expected at a missing path ("not a Hugging Face model folder").
  if (!st && ip.spec.check) return undefined;
  if (!st) return `${abs}: no such ${kind[ip.spec.mustExist]}`;
  if (ip.spec.mustExist === 'file' && !st.isFile()) return `${abs}: not a file`;
  if (ip.spec.mustExist === 'dir' && !st.isDirectory()) return `${abs}: not a folder`;
  return undefined;
}

async function runCheck(check: (abs: string) => unknown, abs: string): Promise<string | undefined> {
  try {
    const r = await check(abs);
    return typeof r === 'string' && r ? r : undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const ids = new WeakMap<object, number>();
let lastId = 0;
function checkId(f: object): number {
  let id = ids.get(f);
  if (id === undefined) ids.set(f, (id = ++lastId));
  return id;
}

/** ConfigIssues for the input paths of one node (`base`: where its params sit, ['nodes', name, 'with']). */
export async function inputIssues(paths: InputPath[], base: Path, memo: Map<string, Promise<string | undefined>>): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const ip of paths) {
    const problem = await inputProblem(ip, memo);
    if (problem) issues.push({ severity: 'error', code: 'input-path', message: problem, path: [...base, ...ip.at] });
  }
  return issues;
}

/**
 * What an input path holds now, short and readable: its files' count, bytes and newest time,
 * and a hash of every name, size and time (a folder: the files directly inside it). Cheap: it
 * reads no content, like the corpus reader's 'stat' fingerprint.
 */
export async function fingerprintOf(ip: InputPath): Promise<string> {
  const abs = absolute(ip);
  const files = ip.spec.mustExist === 'glob' ? await globMatches(ip) : ip.spec.mustExist === 'file' ? [abs] : await filesIn(abs);
  const stats = await Promise.all(files.map(async (f) => ({ f, st: await stat(f).catch(() => null) })));
  const found = stats.filter((x) => x.st !== null);
  if (ip.spec.mustExist !== 'dir' && found.length === 0) return 'missing';
  const h = createHash('sha256');
  let bytes = 0;
  let newest = 0;
  for (const { f, st } of found) {
    h.update(JSON.stringify([path.relative(ip.base, f), st!.size, st!.mtimeMs]));
    bytes += st!.size;
    newest = Math.max(newest, st!.mtimeMs);
  }
  const when = found.length ? `, modified ${new Date(newest).toISOString()}` : '';
  const count = ip.spec.mustExist === 'file' ? '' : `${found.length} file(s), `;
  return `${count}${bytes.toLocaleString('en-US')} bytes${when} #${h.digest('hex').slice(0, 12)}`;
}

async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(dir, e.name)).sort();
}
