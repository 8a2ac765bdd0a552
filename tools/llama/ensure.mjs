#!/usr/bin/env node
// Installs llama.cpp for the GGUF export tests: node-llama-cpp with only its prebuilt Linux x64 CPU
// binary (about 83 MB, 10 s from the npm registry) into .cache/llama/ (git-ignored), from
// tools/llama/package.json and its lockfile. The main `npm install` never pulls it: with every
// platform package node-llama-cpp is about 700 MB. bin/test.mjs runs this before a test file that
// needs llama.cpp; a complete install (stamp = the lockfile's hash) is reused.
//
// node-llama-cpp's postinstall (which may download or build llama.cpp) is declined twice over:
// allowScripts in package.json (npm 11) and NODE_LLAMA_CPP_SKIP_DOWNLOAD; the tests load the
// prebuilt binary with getLlama({ build: 'never', gpu: false }), so nothing is fetched at run time.
//
//   node tools/llama/ensure.mjs     prints the folder holding node_modules/node-llama-cpp
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const LLAMA_DIR = path.resolve(here, '..', '..', '.cache', 'llama');
const STAMP = path.join(LLAMA_DIR, 'installed.json');

function lockHash() {
  const h = createHash('sha256');
  for (const f of ['package.json', 'package-lock.json']) h.update(readFileSync(path.join(here, f)));
  return h.digest('hex');
}

/** True when .cache/llama holds a complete install of the current lockfile. */
export function llamaInstalled() {
  try {
    return JSON.parse(readFileSync(STAMP, 'utf8')).lock === lockHash();
  } catch {
    return false;
  }
}

/** Installs when needed; returns the folder. Throws with npm's output when the install fails. */
export function ensureLlama({ log = (s) => process.stderr.write(s + '\n') } = {}) {
  if (llamaInstalled()) return LLAMA_DIR;
  log(`llama.cpp for the GGUF tests: installing node-llama-cpp (prebuilt linux-x64 CPU binary) into ${LLAMA_DIR} ...`);
  const started = Date.now();
  rmSync(LLAMA_DIR, { recursive: true, force: true });
  mkdirSync(LLAMA_DIR, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(path.join(here, f), path.join(LLAMA_DIR, f));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--omit=optional', '--no-audit', '--no-fund'], {
    cwd: LLAMA_DIR,
    encoding: 'utf8',
    env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
  });
  if (r.status !== 0 || !existsSync(path.join(LLAMA_DIR, 'node_modules', 'node-llama-cpp'))) {
    throw new Error(`npm ci in ${LLAMA_DIR} failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  writeFileSync(STAMP, JSON.stringify({ lock: lockHash(), seconds: (Date.now() - started) / 1000 }) + '\n');
  log(`llama.cpp for the GGUF tests: installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return LLAMA_DIR;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(ensureLlama());
}
