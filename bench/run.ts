// `npm run bench`: runs every bench/*.bench.ts (or those whose name contains an argument),
// prints one JSON document on stdout and a table on stderr. Speed and memory goals live
// here, never in tests: figures depend on the machine and its load.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

const dir = path.dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

const results: Array<BenchResult & { bench: string }> = [];
for (const f of files) {
  const bench = f.replace(/\.bench\.ts$/, '');
  process.stderr.write(`running ${bench} ...\n`);
  const mod = await import(pathToFileURL(path.join(dir, f)).href);
  const rows: BenchResult[] = await mod.default();
  for (const r of rows) results.push({ bench, ...r });
}

const machine = { cpus: os.availableParallelism(), memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
console.log(JSON.stringify({ machine, results }, null, 2));

const w = Math.max(12, ...results.map((r) => r.bench.length + r.name.length + 3));
process.stderr.write(`\n${'benchmark'.padEnd(w)} ${'value'.padStart(14)}  unit\n`);
for (const r of results) {
  const v = Number.isInteger(r.value) ? String(r.value) : r.value.toPrecision(5);
  process.stderr.write(`${`${r.bench} / ${r.name}`.padEnd(w)} ${v.padStart(14)}  ${r.unit}${r.note ? `  (${r.note})` : ''}\n`);
}
