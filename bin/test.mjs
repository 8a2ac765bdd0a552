#!/usr/bin/env node
// Runs every test/*.test.ts with Node's own test runner (tsx loader), one process per file.
// Usage: npm test [-- substring ...]  (only files whose name contains a substring)
// Files named *llama-cpp* need node-llama-cpp: installed first into .cache/llama when missing.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const filters = process.argv.slice(2);
const files = readdirSync(path.join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort()
  .map((f) => path.join('test', f));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Test files named *llama-cpp* run llama.cpp itself: node-llama-cpp is installed on first use
// into .cache/llama (tools/llama/ensure.mjs), kept out of the main install (~700 MB with every platform).
if (files.some((f) => f.includes('llama-cpp'))) {
  const { ensureLlama } = await import('../tools/llama/ensure.mjs');
  ensureLlama();
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
