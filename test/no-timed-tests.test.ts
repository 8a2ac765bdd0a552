// No test decides its outcome by the clock: a sleep or a timer race passes on an idle machine
// and flakes on a loaded one. Tests wait for an event, a line in a file or an item count
// instead. A timer that decides nothing (a safety timeout that only ends a hung child, pacing
// in a fixture, a memory sampler) says why on its line or the line above: `timer-ok: <why>`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const TIMED = /\bsetTimeout\s*\(|\bsetInterval\s*\(|timers\/promises|\bperformance\.now\s*\(|\bDate\.now\s*\(|\bsleep\s*\(\s*\d/;

/** `file:line: text` for each timer use in `text` without a `timer-ok:` note on its line or the one above. */
export function unannotatedTimers(file: string, text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  lines.forEach((l, i) => {
    if (TIMED.test(l) && !/timer-ok:/.test(l) && !/timer-ok:/.test(lines[i - 1] ?? '')) out.push(`${file}:${i + 1}: ${l.trim()}`);
  });
  return out;
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts|mjs|js)$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name));
}

test('no test file uses a timer to decide an outcome without saying why it decides nothing', () => {
  const self = path.resolve(import.meta.filename);
  const found = testFiles(import.meta.dirname)
    .filter((f) => path.resolve(f) !== self)
    .flatMap((f) => unannotatedTimers(path.relative(import.meta.dirname, f), readFileSync(f, 'utf8')));
  assert.deepEqual(found, [], `timed tests: wait for an event, a file line or an item count instead, or mark a timer that decides nothing with "timer-ok: <why>"\n${found.join('\n')}`);
});

test('the check catches the timed patterns this suite used to have', () => {
  assert.equal(unannotatedTimers('a.ts', "setTimeout(() => ac.abort(), 150);").length, 1);
  assert.equal(unannotatedTimers('a.ts', "import { setTimeout as sleep } from 'node:timers/promises';").length, 1);
  assert.equal(unannotatedTimers('a.ts', 'assert.ok(performance.now() - started < 5000);').length, 1);
  assert.equal(unannotatedTimers('a.ts', 'const killer = setTimeout(kill, 60_000); // timer-ok: safety timeout').length, 0);
  assert.equal(unannotatedTimers('a.ts', '// timer-ok: pacing only\nawait sleep(2);').length, 0);
});
