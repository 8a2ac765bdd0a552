// `npm run bench`: runs every bench/*.bench.ts (or those whose name contains an argument),
// prints one JSON document on stdout and a table on stderr. Speed and memory goals live
// here, never in tests: figures depend on the machine and its load.
// Arguments starting with `--` are options handed to every bench (bench/options.ts), e.g.
//   npm run bench -- train --quick          npm run bench -- memory --shapes=reference
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';
import { BenchOptionInvalid } from './errors.ts';
import { parseBenchOptions, type BenchOptions } from './options.ts';

export interface BenchResult {
  name: string;
  /** null: nothing measured (a crash, a timeout, a missing feature); `note` says which. */
  value: number | null;
  unit: string;
  note?: string;
}

/** What a bench's default export returns: its rows, optionally with everything it measured for the JSON. */
export type BenchOutput = BenchResult[] | { rows: BenchResult[]; details: unknown };
export type Bench = (options: BenchOptions) => Promise<BenchOutput>;

const dir = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith('--'));
const options = parseBenchOptions(args.filter((a) => a.startsWith('--')));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

const loadAtStart = os.loadavg();
const results: Array<BenchResult & { bench: string }> = [];
const details: Record<string, unknown> = {};
for (const f of files) {
  const bench = f.replace(/\.bench\.ts$/, '');
  process.stderr.write(`running ${bench} ...\n`);
  const mod = await import(pathToFileURL(path.join(dir, f)).href);
  let out: BenchOutput;
  try {
    out = await (mod.default as Bench)(options);
  } catch (e) {
    // A bad option is the caller's to fix: its message alone, before anything was measured.
    if (!(e instanceof BenchOptionInvalid)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  const rows = Array.isArray(out) ? out : out.rows;
  if (!Array.isArray(out)) details[bench] = out.details;
  for (const r of rows) results.push({ bench, ...r });
}

// Load average at the start and the end: other work on the machine moves every figure here.
const machine = {
  cpus: os.availableParallelism(), memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, cpu: os.cpus()[0]?.model,
  loadAvgAtStart: loadAtStart, loadAvgAtEnd: os.loadavg(),
};
console.log(JSON.stringify({ date: new Date().toISOString(), machine, options, results, details }, null, 2));

const w = Math.max(12, ...results.map((r) => r.bench.length + r.name.length + 3));
process.stderr.write(`\n${'benchmark'.padEnd(w)} ${'value'.padStart(14)}  unit\n`);
for (const r of results) {
  const v = r.value === null ? 'n/a' : Number.isInteger(r.value) ? String(r.value) : r.value.toPrecision(5);
  process.stderr.write(`${`${r.bench} / ${r.name}`.padEnd(w)} ${v.padStart(14)}  ${r.unit}${r.note ? `  (${r.note})` : ''}\n`);
}
