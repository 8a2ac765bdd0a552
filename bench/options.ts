// Options of `npm run bench -- [FILTER ...] [--key=value | --flag ...]`: words pick bench files (bench/run.ts),
// `--` arguments reach every bench, each reading the keys it knows. Values take the `--key=value` form only, so a
// bare word after a flag stays a filter (`--quick train` runs the train benches quickly).
import { BenchOptionInvalid } from './errors.ts';

export type BenchOptions = Record<string, string | true>;

export function parseBenchOptions(args: string[]): BenchOptions {
  const out: BenchOptions = {};
  for (const a of args) {
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(a);
    if (!m) throw new BenchOptionInvalid(`option "${a}" must look like --key=value or --flag`);
    out[m[1]] = m[2] ?? true;
  }
  return out;
}

export function flag(o: BenchOptions, key: string): boolean {
  return o[key] === true || o[key] === 'true' || o[key] === '1';
}

/** A positive number option, or `fallback` when absent. */
export function num(o: BenchOptions, key: string, fallback: number): number {
  const v = o[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v === true || !Number.isFinite(n) || n < 0) throw new BenchOptionInvalid(`--${key} needs a non-negative number, got ${String(v)}`);
  return n;
}

/** A comma-separated list option, each entry checked against `allowed`. */
export function list<T extends string>(o: BenchOptions, key: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const v = o[key];
  if (v === undefined) return [...fallback];
  if (v === true) throw new BenchOptionInvalid(`--${key} needs a value: --${key}=${allowed.join(',')}`);
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of items) {
    if (!(allowed as readonly string[]).includes(s)) throw new BenchOptionInvalid(`--${key}: unknown "${s}" (known: ${allowed.join(', ')})`);
  }
  return items as T[];
}
