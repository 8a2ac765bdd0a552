// Every error a user can see is a named class from src/errors.ts (callers tell kinds apart with
// instanceof and `code`). A plain `throw new Error(...)` in src/ or nodes/ is allowed only for an
// internal invariant (a bug in tokenpipe, never bad input), and says so: `internal: <why>` on
// its line or the line above.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PLAIN = /\bthrow new Error\(|\breject\(new Error\(/;

/** `file:line: text` of each plain Error throw without an `internal:` note on its line or the one above. */
export function plainThrows(file: string, text: string, annotated = false): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  lines.forEach((l, i) => {
    const note = /internal:/.test(l) || /internal:/.test(lines[i - 1] ?? '');
    if (PLAIN.test(l) && note === annotated) out.push(`${file}:${i + 1}: ${l.trim()}`);
  });
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|mts|mjs)$/.test(f))
    .map((f) => path.join(dir, f));
}

test('no plain Error thrown in src/ or nodes/ except annotated internal invariants', (t) => {
  const files = [...sources('src'), ...sources('nodes')];
  const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');
  const bad = files.flatMap((f) => plainThrows(f, read(f)));
  assert.deepEqual(bad, [], `a user can see these: throw a named class from src/errors.ts, or mark a true internal invariant "// internal: <why>"\n${bad.join('\n')}`);
  const internal = files.flatMap((f) => plainThrows(f, read(f), true));
  t.diagnostic(`${internal.length} annotated internal invariants:\n${internal.join('\n')}`);
});

test('the check flags an unannotated plain throw and passes an annotated one', () => {
  assert.equal(plainThrows('a.ts', "if (!x) throw new Error('no x');").length, 1);
  assert.equal(plainThrows('a.ts', "p.catch(() => reject(new Error('lost')));").length, 1);
  assert.equal(plainThrows('a.ts', "// internal: callers check x first.\nif (!x) throw new Error('no x');").length, 0);
  assert.equal(plainThrows('a.ts', "if (!x) throw new ConfigInvalid([]);").length, 0);
});
