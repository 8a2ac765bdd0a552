// How the user can type `pipe` from where they ran the pipeline, for the summary's "try it" line.
// `npx pipe` resolves through node_modules/.bin of the nearest package, so it works only inside
// the clone (from another folder `npx --no-install pipe` fails); after `npm link` or
// `npm install -g <clone>` the bare `pipe` on the PATH works anywhere; otherwise the bin itself,
// by its absolute path, always does.
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** The clone (or installed package) this code runs from. */
export const PACKAGE_ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface Invocation {
  /** process.argv[1]: the script node was started with (node_modules/.bin/pipe under npx). */
  argv1?: string;
  /** npm sets npm_command=exec for `npx`; PATH finds a linked `pipe`. */
  env: Record<string, string | undefined>;
  cwd: string;
  root?: string;
}

const inside = (dir: string, root: string) => {
  const rel = path.relative(root, dir);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

const real = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
};

/** The first `pipe` on PATH, resolved through its links (npm link makes two). */
function pipeOnPath(envPath: string | undefined): string | undefined {
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, 'pipe');
    if (existsSync(p)) return real(p);
  }
  return undefined;
}

/** `npx pipe`, `pipe` or `node /abs/bin/pipe.mjs`: a prefix that runs this tokenpipe from `cwd`. */
export function pipeCommand(o: Invocation = { argv1: process.argv[1], env: process.env, cwd: process.cwd() }): string {
  const root = o.root ?? PACKAGE_ROOT;
  const bin = path.join(root, 'bin', 'pipe.mjs');
  const inClone = inside(real(o.cwd) ?? o.cwd, real(root) ?? root);
  const viaNpx = o.env.npm_command === 'exec' || /[\\/]node_modules[\\/]\.bin[\\/]pipe$/.test(o.argv1 ?? '');
  // As the user ran it, where that still works.
  if (viaNpx && inClone) return 'npx pipe';
  if (pipeOnPath(o.env.PATH) === (real(bin) ?? bin)) return 'pipe';
  if (inClone) return 'npx pipe';
  return `node ${shellWord(bin)}`;
}

/** A path as one shell word: quoted only when it needs to be. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A path for a command run from `cwd`: relative when it lies below it, else absolute. */
export function pathFrom(cwd: string, p: string): string {
  const abs = path.resolve(p);
  return inside(abs, path.resolve(cwd)) ? path.relative(cwd, abs) || '.' : abs;
}
